// The dashboard in headless Chromium (Debian's /usr/bin/chromium through playwright-core):
// a wrong token is refused; a workflow submitted through the API appears in the list, also
// under its status filter, and opened shows `completed` with its activities and its DAG.
// Usage: node dashboard_test.mjs BASE_URL TOKEN SCREENSHOT.png (test_dashboard.sh runs it).
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [base, token, screenshot] = process.argv.slice(2);
const TIMEOUT = 30000;

async function api(path, options = {}) {
  const res = await fetch(base + path, {
    ...options,
    headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
  });
  const body = await res.json();
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

const definition = {
  name: "dashboard_diamond",
  activities: [
    { name: "fetch", task: "noop", params: { url: "x" } },
    { name: "left", task: "noop", depends_on: ["fetch"] },
    { name: "right", task: "sleep", params: { ms: 300 }, depends_on: ["fetch"] },
    { name: "join", task: "noop", depends_on: ["left", "right"] },
  ],
};
const { workflow_uid: uid } = await api("/v1/workflows", {
  method: "POST", body: JSON.stringify({ config: definition, inputs: { who: "dashboard" } }),
});
console.log("submitted", uid);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  // root in a container has no user namespaces for Chromium's sandbox
  args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 860 } });
  page.setDefaultTimeout(TIMEOUT);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto(base + "/");
  await page.locator("#token").fill("not-the-token");
  await page.locator("#login-form button").click();
  await page.locator("#login-error").waitFor({ state: "visible" });
  assert.match(await page.locator("#login-error").textContent(), /token/i);
  console.log("ok: a wrong token is refused");

  await page.locator("#token").fill(token);
  await page.locator("#login-form button").click();
  const row = page.locator(`#workflows tr[data-uid="${uid}"]`);
  await row.waitFor();
  console.log("ok: the workflow is in the list");

  await page.locator("#filter-status").selectOption("completed");
  await page.locator(`#workflows tr[data-uid="${uid}"][data-status="completed"]`).waitFor();
  const statuses = await page.locator("#workflows tbody tr").evaluateAll(
    (rows) => rows.map((r) => r.dataset.status));
  assert.ok(statuses.every((s) => s === "completed"), `filtered: ${statuses}`);
  console.log("ok: the status filter shows it among completed ones only");

  await row.locator("a").click();
  await page.waitForFunction(
    () => document.getElementById("wf-status").textContent === "completed", null,
    { timeout: TIMEOUT });
  assert.equal(await page.locator("#wf-name").textContent(), "dashboard_diamond");
  const nodes = page.locator("#dag g.node");
  await page.waitForFunction(() => document.querySelectorAll("#dag g.node.completed").length === 4);
  assert.deepEqual((await nodes.evaluateAll((g) => g.map((n) => n.dataset.name))).sort(),
    ["fetch", "join", "left", "right"]);
  assert.equal(await page.locator("#dag path.edge").count(), 4);
  // by levels: fetch left of left/right, which are left of join
  const x = async (name) => (await page.locator(`#dag g.node[data-name="${name}"]`)
    .getAttribute("transform")).match(/translate\(([\d.]+)/)[1] * 1;
  assert.ok((await x("fetch")) < (await x("left")) && (await x("left")) < (await x("join")));
  assert.equal(await x("left"), await x("right"));
  const acts = await page.locator("#activities tbody tr").evaluateAll(
    (rows) => rows.map((r) => [r.dataset.name, r.dataset.status]));
  assert.deepEqual(acts, [["fetch", "completed"], ["left", "completed"],
    ["right", "completed"], ["join", "completed"]]);
  assert.match(await page.locator("#wf-progress").textContent(), /^4\/4/);
  assert.ok(!(await page.locator("#wf-output-box").isHidden()), "the output is shown");
  console.log("ok: opened, it shows completed with its activities and its DAG");
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log("screenshot:", screenshot);
  assert.deepEqual(errors, [], "no script error on the page");
} catch (e) {
  failed = true;
  console.error("FAIL:", e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
