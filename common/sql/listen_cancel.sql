-- A worker's connection hears of canceled workflows (cancel.sql notifies their uid), so an
-- attempt of one stops at once rather than at its next lease renewal.
LISTEN weft_cancel
