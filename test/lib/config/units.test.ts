import test from "ava";
import { parseDuration, parseSize } from "../../../lib/config/units.js";

for (const [text, ms] of [
  ["500ms", 500],
  ["10s", 10_000],
  ["1.5s", 1500],
  ["5m", 300_000],
  ["1h", 3_600_000],
  ["7d", 604_800_000],
  [" 2 s ", 2000],
  [250, 250],
] as const) {
  test(`duration ${JSON.stringify(text)} is ${ms} ms`, (t) => {
    t.is(parseDuration(text), ms);
  });
}

for (const [text, bytes] of [
  ["512MiB", 536_870_912],
  ["64KB", 64_000],
  ["1GiB", 1_073_741_824],
  ["0.5KiB", 512],
  ["100", 100],
  ["3B", 3],
  [4096, 4096],
] as const) {
  test(`size ${JSON.stringify(text)} is ${bytes} bytes`, (t) => {
    t.is(parseSize(text), bytes);
  });
}

for (const bad of ["10x", "-5s", "s", "", "1e3s", "10 seconds"]) {
  test(`duration ${JSON.stringify(bad)} is rejected`, (t) => {
    t.is(parseDuration(bad), undefined);
  });
}

for (const bad of ["-5MiB", "5mib", "1PB", "MiB"]) {
  test(`size ${JSON.stringify(bad)} is rejected`, (t) => {
    t.is(parseSize(bad), undefined);
  });
}
