#!/usr/bin/python3
"""The deploy files (deploy/Containerfile, compose.yaml, systemd/, k8s/, weft-probe) checked
against the tools that read them and against weft itself: no Docker engine, systemd or
cluster is needed, and none is started.

- Containerfile: its build stage installs deploy/setup.sh's build packages and builds the
  meson targets that exist; its runtime stage installs the Debian package of every shared
  library the built binaries link; it runs as a fixed non-root uid, the one k8s asks for.
- compose.yaml: `docker compose config` (or Debian's docker-compose) accepts it with the
  example env file and refuses it without passwords; services, healthchecks, depends_on
  conditions, replicas, stop grace and the Postgres volume are as described.
- systemd units: `systemd-analyze verify` on copies whose ExecStart points at this build's
  binaries (verify wants them to exist), with no warning at all; `systemd-analyze security
  --offline` at most 3.5; the settings weft needs (KillMode=mixed, the grace, the env file).
- k8s manifests: a YAML parse and the structure (kinds, names, replicas, every container's
  environment from the Secret, HTTP probes of --metrics' /healthz and /metrics, grace,
  resources, non-root).
- Everywhere: each WEFT_* variable is one that common/config.c reads, each command line
  is accepted by the binary it names (`BIN ARGS --help`), and each stop grace covers
  weft's --grace default (DEFAULT_GRACE_S in common/config.c) with time to spare.
- weft-probe: shellcheck, and its checks against real processes and sockets.

A tool that is missing fails the test, naming the Debian package (deploy/setup.sh
installs them all); nothing is skipped.
"""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("WEFT_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("WEFT_BUILD_ROOT", os.path.join(SRC, "build"))
DEPLOY = os.path.join(SRC, "deploy")
BINARIES = {
    "weft-entry": os.environ.get("WEFT_BIN_WEFT_ENTRY", os.path.join(BUILD, "entry", "weft-entry")),
    "weft-activity": os.environ.get("WEFT_BIN_WEFT_ACTIVITY",
                                    os.path.join(BUILD, "activity", "weft-activity")),
    "weft-handoff": os.environ.get("WEFT_BIN_WEFT_HANDOFF",
                                   os.path.join(BUILD, "handoff", "weft-handoff")),
    "weft": os.environ.get("WEFT_BIN_WEFT", os.path.join(BUILD, "entry", "weft")),
}
CONSUMERS = ["weft-entry", "weft-activity", "weft-handoff"]
URL_VARS = ["WEFT_AMQP_URL", "WEFT_DATABASE_URL", "WEFT_REDIS_URL"]
# Spare time on top of weft's --grace that every stop timeout must leave.
GRACE_SPARE_S = 10
MAX_SECURITY_EXPOSURE = 3.5

failures = []
passed = 0


def check(ok, what):
    global passed
    if ok:
        passed += 1
        print(f"ok - {what}")
    else:
        failures.append(what)
        print(f"FAIL - {what}")
    return ok


def die(msg):
    print(f"test_deploy_files: {msg}", file=sys.stderr)
    sys.exit(1)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def need_tool(argv, package):
    """Fails the whole test, loudly, when a tool it needs is not there."""
    try:
        r = run(argv)
    except FileNotFoundError:
        r = None
    if r is None or r.returncode != 0:
        die(f"'{' '.join(argv)}' does not run: install the Debian package {package} "
            "(deploy/setup.sh installs it)")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------- the tools ---

try:
    import yaml
except ImportError:
    die("python3 cannot import yaml: install the Debian package python3-yaml "
        "(deploy/setup.sh installs it) and run this with /usr/bin/python3")
need_tool(["systemd-analyze", "--version"], "systemd")
need_tool(["systemd-sysusers", "--help"], "systemd")
need_tool(["shellcheck", "--version"], "shellcheck")
need_tool(["readelf", "--version"], "binutils")
if run(["sh", "-c", "docker compose version"]).returncode == 0:
    COMPOSE = ["docker", "compose"]
else:
    need_tool(["docker-compose", "version"], "docker-compose")
    COMPOSE = ["docker-compose"]
for name, path in BINARIES.items():
    if not os.access(path, os.X_OK):
        die(f"{name} is not built at {path} (ninja -C build)")

# ---------------------------------------------------------------- what weft reads ---

config_c = read(os.path.join(SRC, "common", "config.c"))
m = re.search(r"#define DEFAULT_GRACE_S (\d+)", config_c)
if not m:
    die("common/config.c has no DEFAULT_GRACE_S")
GRACE_S = int(m.group(1))
MIN_STOP_S = GRACE_S + GRACE_SPARE_S
# every WEFT_* name config.c spells out, and the *_FILE form of each URL (env_url)
KNOWN_VARS = set(re.findall(r'"(WEFT_[A-Z_]+)"', config_c))
KNOWN_VARS |= {v + "_FILE" for v in URL_VARS}
check(set(URL_VARS) <= KNOWN_VARS and GRACE_S > 0,
      f"common/config.c: the URL variables and a grace of {GRACE_S} s")


def check_vars(names, where):
    unknown = sorted(n for n in names if n.startswith("WEFT_") and n not in KNOWN_VARS)
    check(not unknown, f"{where}: every WEFT_* variable is one weft reads"
          + (f" (unknown: {', '.join(unknown)})" if unknown else ""))


def check_command(argv, where):
    """argv[0] names a weft binary; the binary must accept the rest (parsed before --help)."""
    prog = os.path.basename(argv[0])
    if not check(prog in BINARIES, f"{where}: runs a weft binary ({prog})"):
        return
    r = run([BINARIES[prog]] + list(argv[1:]) + ["--help"])
    check(r.returncode == 0, f"{where}: {prog} accepts {' '.join(argv[1:]) or 'no arguments'}"
          + (f" ({r.stderr.strip()})" if r.returncode else ""))


def duration_s(v):
    """45, '45s', '1m30s', '90sec' -> seconds."""
    if isinstance(v, (int, float)):
        return float(v)
    total, found = 0.0, False
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(ms|min|sec|s|m|h)?", str(v)):
        found = True
        total += float(num) * {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600,
                               "": 1}[unit]
    if not found:
        raise ValueError(f"not a duration: {v!r}")
    return total


# ---------------------------------------------------------------- Containerfile ---

def containerfile_stages(text):
    """[(from_line, [instructions])], line continuations joined, comments dropped."""
    lines, cur = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        lines.append(cur + s)
        cur = ""
    stages = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def apt_packages(instructions):
    pkgs = set()
    for ins in instructions:
        for m in re.finditer(r"apt-get install ([^&;|]*)", ins):
            pkgs |= {w for w in m.group(1).split() if not w.startswith("-")}
    return pkgs


def setup_build_packages():
    m = re.search(r"BUILD_PACKAGES=\(([^)]*)\)", read(os.path.join(DEPLOY, "setup.sh")))
    return set(m.group(1).split()) if m else set()


def packages_of(paths):
    """{path: Debian package}; a library's path as ldd gives it may be the /lib or the /usr/lib
    form of what dpkg knows (merged /usr), so both are asked, in one dpkg-query."""
    forms = {}
    for p in paths:
        real = os.path.realpath(p)
        forms[p] = {p, real, real.replace("/usr/lib/", "/lib/", 1),
                    real.replace("/lib/", "/usr/lib/", 1)}
    asked = sorted(set().union(*forms.values())) if forms else []
    owner = {}
    for line in run(["dpkg-query", "-S"] + asked).stdout.splitlines():
        pkg, _, path = line.partition(": ")
        owner[path.strip()] = pkg.split(":")[0].strip()
    return {p: next((owner[f] for f in sorted(fs) if f in owner), None) for p, fs in forms.items()}


def check_containerfile():
    text = read(os.path.join(DEPLOY, "Containerfile"))
    stages = containerfile_stages(text)
    if not check(len(stages) == 2, "Containerfile: a build stage and a runtime stage"):
        return None
    (build_from, build), (run_from, runtime) = stages
    check(re.match(r"FROM debian:bookworm(\s|$)", build_from, re.I) is not None,
          "Containerfile: builds on debian:bookworm")
    check(re.match(r"FROM debian:bookworm-slim(\s|$)", run_from, re.I) is not None,
          "Containerfile: runs on debian:bookworm-slim")
    need = setup_build_packages() | {"python3"}
    missing = need - apt_packages(build)
    check(len(need) > 1 and not missing, "Containerfile: build stage installs deploy/setup.sh's "
          "build packages and python3" + (f" (missing {sorted(missing)})" if missing else ""))
    script = " ".join(build)
    check(all(s in script for s in ("meson setup", "meson install")),
          "Containerfile: meson setup, build and meson install")
    # the targets it compiles are this build's installed executables
    m = re.search(r"meson compile -C \S+ ([^&]*)", script)
    names = {t.split(":")[0] for t in m.group(1).split()} if m else set()
    check(names == set(BINARIES), "Containerfile: compiles weft-entry, weft-activity, "
          f"weft-handoff and weft (it names {sorted(names)})")
    r = run(["meson", "introspect", "--targets", BUILD])
    if check(r.returncode == 0, "meson introspect --targets on the build"):
        import json
        installed = {t["name"] for t in json.loads(r.stdout)
                     if t["type"] == "executable" and t.get("installed")}
        check(installed == set(BINARIES),
              f"meson installs exactly the four binaries the image runs ({sorted(installed)})")

    # every shared library a binary links comes from a package the runtime stage installs,
    # or from libc6, which every Debian image has
    runtime_pkgs = apt_packages(runtime)
    linked = []
    for name, path in BINARIES.items():
        needed = re.findall(r"\(NEEDED\).*\[(.+)\]", run(["readelf", "-d", path]).stdout)
        ldd = dict(re.findall(r"^\s*(\S+) => (/\S+)", run(["ldd", path]).stdout, re.M))
        linked += [(name, soname, ldd.get(soname)) for soname in needed]
    owners = packages_of({lib for _, _, lib in linked if lib})
    wanted = {}
    for name, soname, lib in linked:
        pkg = owners.get(lib)
        if check(pkg is not None, f"{name}: {soname} belongs to a Debian package"):
            wanted.setdefault(pkg, set()).add(soname)
    for pkg, sonames in sorted(wanted.items()):
        check(pkg in runtime_pkgs or pkg == "libc6",
              f"Containerfile: runtime stage installs {pkg} ({', '.join(sorted(sonames))})")
    check("ca-certificates" in runtime_pkgs, "Containerfile: runtime stage has ca-certificates")
    check(not any(p.endswith("-dev") or p in ("gcc", "meson") for p in runtime_pkgs),
          "Containerfile: no build tools in the runtime stage")

    user = [i.split(None, 1)[1] for i in runtime if i.upper().startswith("USER ")]
    uid = user[-1].split(":")[0] if user else ""
    check(uid.isdigit() and int(uid) != 0, f"Containerfile: runs as a numeric non-root uid ({uid})")
    entry = [i for i in runtime if i.upper().startswith("ENTRYPOINT")]
    check(entry and "tini" in entry[-1], "Containerfile: tini is PID 1 (reaps, passes SIGTERM)")
    for ins in runtime:
        if ins.upper().startswith("COPY ") and "--from" not in ins:
            src = ins.split()[1]
            check(os.path.exists(os.path.join(SRC, src)), f"Containerfile: COPY {src} exists")
    check("/usr/local/bin/weft-probe" in script + " ".join(runtime),
          "Containerfile: installs weft-probe")
    return int(uid) if uid.isdigit() else None


# ---------------------------------------------------------------- compose ---

def compose_config(env_file):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
    return run(COMPOSE + ["-f", os.path.join(DEPLOY, "compose.yaml"), "--env-file", env_file,
                          "config"], env=env, cwd=DEPLOY)


def check_compose():
    compose = " ".join(COMPOSE)
    with tempfile.NamedTemporaryFile("w", suffix=".env") as empty:
        r = compose_config(empty.name)
        check(r.returncode != 0 and "WEFT_" in r.stderr + r.stdout,
              f"compose.yaml: {compose} config refuses to run without the passwords")
    r = compose_config(os.path.join(DEPLOY, "compose.env.example"))
    if not check(r.returncode == 0, f"compose.yaml: {compose} config accepts it with "
                 "compose.env.example" + (f": {r.stderr.strip()}" if r.returncode else "")):
        return
    cfg = yaml.safe_load(r.stdout)
    services = cfg.get("services", {})
    backing = ["rabbitmq", "postgres", "redis"]
    for s in backing + CONSUMERS:
        check(s in services, f"compose.yaml: service {s}")
    for s in backing:
        check("test" in (services.get(s, {}).get("healthcheck") or {}),
              f"compose.yaml: {s} has a healthcheck")
    pg_volumes = services.get("postgres", {}).get("volumes", [])
    targets = {(v["source"] if isinstance(v, dict) else v.split(":")[0],
                v["target"] if isinstance(v, dict) else v.split(":")[1]) for v in pg_volumes}
    check(any(t == "/var/lib/postgresql/data" and src in (cfg.get("volumes") or {})
              for src, t in targets), "compose.yaml: a named volume holds Postgres' data")

    def replicas(s):
        return ((services.get(s, {}).get("deploy") or {}).get("replicas")) or 1

    check(replicas("weft-activity") >= 2,
          f"compose.yaml: weft-activity runs {replicas('weft-activity')} replicas")
    check(replicas("weft-handoff") == 2, "compose.yaml: weft-handoff runs 2 (active + standby)")
    raw = read(os.path.join(DEPLOY, "compose.yaml"))
    check(re.search(r"#.*standby", raw, re.I) and re.search(r"single-active-consumer", raw),
          "compose.yaml: a comment says how the standby takes over")
    for s in CONSUMERS + ["weft"]:
        svc = services.get(s, {})
        deps = svc.get("depends_on") or {}
        check(all((deps.get(b) or {}).get("condition") == "service_healthy" for b in backing),
              f"compose.yaml: {s} waits for healthy rabbitmq, postgres, redis")
        grace = svc.get("stop_grace_period")
        check(grace is not None and duration_s(grace) >= MIN_STOP_S,
              f"compose.yaml: {s} stop_grace_period {grace} >= {MIN_STOP_S} s")
        check(svc.get("stop_signal", "SIGTERM") == "SIGTERM",
              f"compose.yaml: {s} stops with SIGTERM")
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        check(all(env.get(v) for v in URL_VARS), f"compose.yaml: {s} gets the three URLs")
        check_vars(env, f"compose.yaml: {s}")
        entrypoint = svc.get("entrypoint") or []
        command = svc.get("command") or []
        argv = [a for a in entrypoint if a not in ("/usr/bin/tini", "--")] + list(command)
        if s == "weft":
            check("cli" in (svc.get("profiles") or []), "compose.yaml: the CLI is behind a profile")
            check(argv[:1] == ["weft"], "compose.yaml: the CLI service runs weft")
            continue
        check_command(argv, f"compose.yaml: {s}")
        test = (svc.get("healthcheck") or {}).get("test") or []
        check(test[1:] == ["weft-probe", "ready", s],
              f"compose.yaml: {s} health is weft-probe ready {s}")


# ---------------------------------------------------------------- systemd ---

def unit_settings(text):
    """{section: [(key, value)]}, continuation lines joined."""
    out, section, pending = {}, None, ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, [])
        elif "=" in line:
            k, v = line.split("=", 1)
            out[section].append((k.strip(), v.strip()))
    return out


def check_systemd():
    sysd = os.path.join(DEPLOY, "systemd")
    units = {"weft-entry.service": "weft-entry", "weft-handoff.service": "weft-handoff",
             "weft-activity@.service": "weft-activity"}
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for unit, prog in units.items():
            path = os.path.join(sysd, unit)
            if not check(os.path.exists(path), f"systemd: {unit} exists"):
                continue
            text = read(path)
            s = unit_settings(text)
            svc = s.get("Service", [])
            get = lambda k: [v for kk, v in svc if kk == k]
            exec_start = get("ExecStart")
            check(len(exec_start) == 1 and exec_start[0].split()[0] == f"/usr/local/bin/{prog}",
                  f"systemd: {unit} runs /usr/local/bin/{prog} (meson install's bindir)")
            check("/etc/weft/weft.env" in get("EnvironmentFile"),
                  f"systemd: {unit} EnvironmentFile=/etc/weft/weft.env")
            check(get("Restart") == ["on-failure"], f"systemd: {unit} Restart=on-failure")
            check(get("KillSignal") == ["SIGTERM"], f"systemd: {unit} KillSignal=SIGTERM")
            check(get("KillMode") == ["mixed"],
                  f"systemd: {unit} KillMode=mixed (weft stops its own task processes)")
            stop = get("TimeoutStopSec")
            check(stop and duration_s(stop[-1]) >= MIN_STOP_S,
                  f"systemd: {unit} TimeoutStopSec {stop} >= {MIN_STOP_S} s")
            check(get("User") == ["weft"] and get("Group") == ["weft"],
                  f"systemd: {unit} runs as user weft")
            for k, v in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                         ("PrivateTmp", "yes"), ("CapabilityBoundingSet", "")):
                check(get(k) == [v], f"systemd: {unit} {k}={v}")
            # the command line, with the unit's own default for its variables
            env = {}
            for e in get("Environment"):
                for word in shlex.split(e):
                    k, _, v = word.partition("=")
                    env[k] = v
            check_vars(env, f"systemd: {unit}")
            argv = exec_start[0].split() if exec_start else [prog]
            argv = [w for a in argv for w in
                    (env.get(a[1:], "").split() if a.startswith("$") else [a])]
            check_command([prog] + argv[1:], f"systemd: {unit}")
            if unit.endswith("@.service"):
                check("%i" in text and re.search(r"#.*%i", text),
                      f"systemd: {unit} uses %i and says what it means")
            copy = unit if not unit.endswith("@.service") else unit.replace("@.", "@1.")
            with open(os.path.join(tmp, copy), "w") as f:
                f.write(text.replace(f"/usr/local/bin/{prog}", BINARIES[prog]))
            copies.append(copy)
        # verify wants ExecStart to exist: the copies run this build's binaries
        r = run(["systemd-analyze", "verify"] + [f"./{c}" for c in copies], cwd=tmp)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not out,
              "systemd: systemd-analyze verify, not a warning" + (f":\n{out}" if out else ""))
        for c in copies:
            r = run(["systemd-analyze", "security", "--offline=yes",
                     f"--threshold={int(MAX_SECURITY_EXPOSURE * 10)}", f"./{c}"], cwd=tmp)
            level = re.search(r"exposure level for \S+: ([\d.]+)", r.stdout + r.stderr)
            shown = level.group(1) if level else "?"
            check(r.returncode == 0 and level,
                  f"systemd: {c} exposure {shown} <= {MAX_SECURITY_EXPOSURE}")

    example = read(os.path.join(sysd, "weft.env.example"))
    names = set(re.findall(r"^#?(WEFT_[A-Z_]+)=", example, re.M))
    check(set(URL_VARS) <= names, "systemd: weft.env.example has the three URLs")
    check_vars(names, "systemd: weft.env.example")
    secrets = re.findall(r"://[^:/@\s]*:([^@\s]*)@", example)
    check(secrets and all(p == "CHANGE_ME" for p in secrets),
          "systemd: weft.env.example holds placeholders, not passwords")
    with tempfile.TemporaryDirectory() as root:
        os.mkdir(os.path.join(root, "etc"))
        r = run(["systemd-sysusers", f"--root={root}", os.path.join(sysd, "weft.sysusers.conf")])
        passwd = os.path.join(root, "etc", "passwd")
        users = read(passwd) if os.path.exists(passwd) else ""
        check(r.returncode == 0 and re.search(r"^weft:", users, re.M),
              "systemd: weft.sysusers.conf creates the user weft (systemd-sysusers --root)")


# ---------------------------------------------------------------- k8s ---

def check_k8s(image_uid):
    k8s = os.path.join(DEPLOY, "k8s")
    docs = {}
    files = sorted(f for f in os.listdir(k8s) if f.endswith(".yaml"))
    for f in files:
        try:
            loaded = [d for d in yaml.safe_load_all(read(os.path.join(k8s, f))) if d]
        except yaml.YAMLError as e:
            check(False, f"k8s: {f} parses: {e}")
            continue
        check(loaded, f"k8s: {f} parses")
        docs[f] = loaded
    kust = (docs.get("kustomization.yaml") or [{}])[0]
    check(sorted(kust.get("resources",
                  [])) == sorted(f for f in files if f != "kustomization.yaml"),
          "k8s: kustomization.yaml lists every manifest")
    objs = {(d.get("kind"), d.get("metadata", {}).get("name")): d
            for f, ds in docs.items() if f != "kustomization.yaml" for d in ds}
    for d in objs.values():
        check(d.get("apiVersion") and d.get("kind"),
              f"k8s: {d.get('kind')} has apiVersion and kind")
    secret = objs.get(("Secret", "weft-connection"))
    if check(secret is not None, "k8s: Secret weft-connection"):
        data = secret.get("stringData", {})
        check(set(URL_VARS) <= set(data), "k8s: the Secret holds the three URLs")
        check_vars(data, "k8s: the Secret")
        pw = [p for v in data.values() for p in re.findall(r"://[^:/@\s]*:([^@\s]*)@", str(v))]
        check(all(p == "CHANGE_ME" for p in pw),
              "k8s: the Secret holds placeholders, not passwords")
    image_names = {i.get("name") for i in kust.get("images", [])}
    want_replicas = {"weft-entry": lambda n: n >= 1, "weft-activity": lambda n: n >= 2,
                     "weft-handoff": lambda n: n == 2}
    for prog in CONSUMERS:
        dep = objs.get(("Deployment", prog))
        if not check(dep is not None, f"k8s: Deployment {prog}"):
            continue
        spec = dep["spec"]
        n = spec.get("replicas", 1)
        check(want_replicas[prog](n), f"k8s: {prog} replicas {n}")
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"].get("labels", {})
        sel = spec["selector"].get("matchLabels", {})
        check(sel and all(labels.get(k) == v for k, v in sel.items()),
              f"k8s: {prog} selector matches its pods")
        g = pod.get("terminationGracePeriodSeconds", 30)
        check(g >= MIN_STOP_S, f"k8s: {prog} terminationGracePeriodSeconds {g} >= {MIN_STOP_S}")
        sc = pod.get("securityContext", {})
        check(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == image_uid,
              f"k8s: {prog} runs as non-root uid {image_uid}, the image's")
        for c in pod.get("containers", []):
            where = f"k8s: {prog} container {c.get('name')}"
            refs = [e.get("secretRef", {}).get("name") for e in c.get("envFrom", [])]
            check(refs == ["weft-connection"], f"{where}: environment from the Secret")
            check(not c.get("env"), f"{where}: no environment besides the Secret's")
            check(c.get("image", "").split(":")[0] in image_names,
                  f"{where}: image is the kustomization's")
            check_command(c.get("command", [])[2:] + c.get("args", [])
                          if c.get("command") else c.get("args", []), where)
            # the probes ask the --metrics endpoint the container's command line serves
            argv = c.get("args", [])
            addr = argv[argv.index("--metrics") + 1] if "--metrics" in argv[:-1] else ""
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
            check(addr.rpartition(":")[2] == str(ports.get("metrics")),
                  f"{where}: --metrics on its containerPort 'metrics' ({addr}, {ports})")
            for probe, path in (("readinessProbe", "/healthz"), ("livenessProbe", "/metrics")):
                get = (c.get(probe) or {}).get("httpGet") or {}
                check(get.get("path") == path and get.get("port") == "metrics",
                      f"{where}: {probe} is an HTTP GET of {path} on port metrics")
            res = c.get("resources", {})
            check(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory")
                  and res.get("limits", {}).get("memory"), f"{where}: resources")
            csc = c.get("securityContext", {})
            check(csc.get("allowPrivilegeEscalation") is False
                  and csc.get("readOnlyRootFilesystem") is True, f"{where}: locked down")
    raw = read(os.path.join(k8s, "weft-handoff.yaml"))
    check(re.search(r"#.*standby", raw, re.I) and "single-active-consumer" in raw,
          "k8s: weft-handoff.yaml says how the standby takes over")
    pdb = objs.get(("PodDisruptionBudget", "weft-handoff"))
    check(pdb is not None and pdb["spec"].get("minAvailable") == 1,
          "k8s: a drain keeps one handoff (PodDisruptionBudget)")
    probes = "".join(read(os.path.join(k8s, f)) for f in files)
    check(re.search(r"#.*HTTP probes? of the --metrics endpoint", probes),
          "k8s: a comment says what the HTTP probes ask")


# ---------------------------------------------------------------- weft-probe ---

PROBE_NAME = "weftprobetest"  # no real process is called that

HOLDER = r"""
import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
port = int(sys.argv[2])     # 0: hold no connection
s = socket.create_connection(("127.0.0.1", port)) if port else socket.socket()
print("connected", flush=True)
sys.stdin.readline()          # a line: close the connection, then idle
s.close()
print("closed", flush=True)
time.sleep(60)
"""


def check_probe():
    probe = os.path.join(DEPLOY, "weft-probe")
    r = run(["shellcheck", probe])
    check(r.returncode == 0, "weft-probe: shellcheck" + (f":\n{r.stdout}" if r.returncode else ""))
    check(os.access(probe, os.X_OK), "weft-probe: executable")

    def probe_rc(what, url=None):
        env = dict(os.environ)
        env.pop("WEFT_AMQP_URL", None)
        if url:
            env["WEFT_AMQP_URL"] = url
        return run([probe, what, PROBE_NAME], env=env).returncode

    check(probe_rc("alive") == 1, "weft-probe: alive fails without the process")
    check(run([probe, "bogus", PROBE_NAME]).returncode == 2, "weft-probe: usage error is 2")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other_port = other.getsockname()[1]
    # two processes of that name, like a host running weft twice: one connected, one not
    idle = subprocess.Popen([sys.executable, "-c", HOLDER, PROBE_NAME, "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, PROBE_NAME, str(port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        idle.stdout.readline()
        check(holder.stdout.readline().strip() == "connected", "weft-probe: test client connected")
        conn, _ = listener.accept()
        url = f"amqp://weft:p%40ss@127.0.0.1:{port}/vhost"
        check(probe_rc("alive", url) == 0, "weft-probe: alive with the process")
        check(probe_rc("ready", url) == 0,
              "weft-probe: ready with a connection to the broker's port")
        check(probe_rc("ready", f"amqp://127.0.0.1:{other_port}") == 1,
              "weft-probe: not ready when the connection is to another port")
        check(probe_rc("ready", "amqp://127.0.0.1") == (0 if port == 5672 else 1),
              "weft-probe: the port defaults to 5672")
        os.kill(holder.pid, signal.SIGSTOP)
        time.sleep(0.2)
        os.kill(idle.pid, signal.SIGSTOP)
        time.sleep(0.2)
        check(probe_rc("alive", url) == 1, "weft-probe: not alive when stopped")
        os.kill(idle.pid, signal.SIGCONT)
        os.kill(holder.pid, signal.SIGCONT)
        holder.stdin.write("close\n")
        holder.stdin.flush()
        check(holder.stdout.readline().strip() == "closed", "weft-probe: test client closed")
        conn.close()
        check(probe_rc("ready", url) == 1, "weft-probe: not ready once the connection is gone")
        check(probe_rc("alive", url) == 0, "weft-probe: still alive without it")
    finally:
        for p in (holder, idle):
            p.kill()
            p.wait()
        listener.close()
        other.close()


# ---------------------------------------------------------------- the docs ---

def check_docs():
    readme = read(os.path.join(DEPLOY, "README.md"))
    tracked = run(["git", "-C", SRC, "ls-files", "deploy"]).stdout.split()
    entries = {p.split("/")[1] if p.count("/") == 1 else p.split("/")[1] + "/"
               for p in tracked if p.startswith("deploy/")}
    entries |= {"/".join(p.split("/")[1:3]) for p in tracked
                if p.startswith(("deploy/systemd/", "deploy/k8s/"))}
    for e in sorted(entries - {"README.md"}):
        check(f"`{e}`" in readme or f"`{e.rstrip('/')}`" in readme
              or f"`{os.path.basename(e)}`" in readme, f"deploy/README.md lists {e}")
    top = read(os.path.join(SRC, "README.md"))
    check(re.search(r"^## Deploy$", top, re.M), "README.md has a Deploy section")


uid = check_containerfile()
check_compose()
check_systemd()
check_k8s(uid)
check_probe()
check_docs()

print(f"{passed} passed, {len(failures)} failed")
if failures:
    print("failed:\n  " + "\n  ".join(failures), file=sys.stderr)
    sys.exit(1)
