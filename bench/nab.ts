/**
 * NAB benchmark (`deno task bench nab`): the product over the NAB files of `NAB_DIR` (default
 * `../shared/nab`) exactly as a user would run it — `replay FILE.csv` with `VALUE_MIN`/`VALUE_MAX`
 * the file's range widened by 10 % and the freshness check off — scored with the NAB scorer of
 * `nab_score.ts`. The scorer is first checked against NAB's published Numenta HTM results.
 *
 * Lines: `nab_standard=`, `nab_low_fp=`, `nab_low_fn=` (the product's per-row score, best single
 * threshold over all files), `nab_alerts_standard=` (its own alert flags at default settings),
 * `nab_alert_rate=` (share of rows flagged), and `nab_scorer_numenta_*=` (expected 64.85 /
 * 59.12 / 69.85 on the 24 development files).
 *
 * @module
 */
import {
  bestThreshold,
  corpusScore,
  type NabFile,
  prepareFile,
  PROFILE_SUFFIX,
  PROFILES,
} from "./nab_score.ts";
import { report } from "./report.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

interface Row {
  score: number;
  anomaly: boolean;
}

/** The timestamps and values of a NAB CSV (`timestamp,value`). */
export async function csvRows(path: string): Promise<{ ts: string[]; values: number[] }> {
  const lines = (await Deno.readTextFile(path)).trim().split("\n").slice(1);
  return {
    ts: lines.map((l) => l.split(",")[0]),
    values: lines.map((l) => Number(l.split(",")[1])),
  };
}

/** Runs `replay` over `path` as a user would; one {@link Row} per CSV row. */
async function replay(path: string, values: number[], extraEnv: Record<string, string>) {
  let lo = Math.min(...values), hi = Math.max(...values);
  const pad = Math.max(hi - lo, Math.abs(hi), 1e-9) * 0.1;
  lo -= pad;
  hi += pad;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "replay", path],
    env: {
      VALUE_MIN: String(lo),
      VALUE_MAX: String(hi),
      FRESHNESS_MAX_LAG_SEC: "100000000000",
      LOG_LEVEL: "warning",
      ...extraEnv,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`replay ${path}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((l): Row => {
    const r = JSON.parse(l);
    return { score: r.alert_score ?? r.score ?? 0, anomaly: r.anomaly === true };
  });
}

/**
 * The NAB corpus of `NAB_DIR` (default `../shared/nab`): its directory, its labelled windows and
 * the names (`category/file.csv`) of the files present, sorted.
 */
export async function nabCorpus(): Promise<
  { dir: string; windows: Record<string, [string, string][]>; names: string[] }
> {
  const dir = Deno.env.get("NAB_DIR") ?? new URL("../../shared/nab", import.meta.url).pathname;
  const windows: Record<string, [string, string][]> = JSON.parse(
    await Deno.readTextFile(`${dir}/labels/combined_windows.json`),
  );
  const names = Object.keys(windows).filter((n) => {
    try {
      Deno.statSync(`${dir}/data/${n}`);
      return true;
    } catch {
      return false;
    }
  }).sort();
  return { dir, windows, names };
}

/** Runs the NAB benchmark; prints `name=value` lines. */
export async function benchNab(): Promise<void> {
  const { dir, windows, names } = await nabCorpus();
  const files: NabFile[] = [];
  const numenta: number[][] = [];
  const product: Row[][] = [];
  const extraEnv = JSON.parse(Deno.env.get("NAB_ENV") ?? "{}");
  for (const name of names) {
    const { ts, values } = await csvRows(`${dir}/data/${name}`);
    files.push(prepareFile(name, ts, windows[name]));
    const [category, file] = name.split("/");
    const published = `${dir}/results/numenta/${category}/numenta_${file}`;
    try {
      const lines = (await Deno.readTextFile(published)).trim().split("\n").slice(1);
      numenta.push(lines.map((l) => Number(l.split(",")[1])));
    } catch {
      numenta.push([]);
    }
    const rows = await replay(`${dir}/data/${name}`, values, extraEnv);
    if (rows.length !== ts.length) {
      throw new Error(`${name}: ${rows.length} replay rows for ${ts.length} CSV rows`);
    }
    product.push(rows);
  }
  report("nab_files", files.length);
  if (numenta.every((s, k) => s.length === files[k].window.length)) {
    for (const [key, p] of Object.entries(PROFILES)) {
      report(`nab_scorer_numenta_${key}`, bestThreshold(files, numenta, p).score.toFixed(2));
    }
  }
  const scores = product.map((rows) => rows.map((r) => r.score));
  const flags = product.map((rows) => rows.map((r) => r.anomaly));
  for (const [key, p] of Object.entries(PROFILES)) {
    const best = bestThreshold(files, scores, p);
    report(`nab_${PROFILE_SUFFIX[key as keyof typeof PROFILES]}`, best.score.toFixed(2));
    if (key === "standard") report("nab_best_threshold", best.threshold.toFixed(6));
  }
  report("nab_alerts_standard", corpusScore(files, flags, PROFILES.standard).toFixed(2));
  const flagged = flags.reduce((a, f) => a + f.filter(Boolean).length, 0);
  const rows = flags.reduce((a, f) => a + f.length, 0);
  report("nab_alert_rate", (flagged / rows).toFixed(4));
}
