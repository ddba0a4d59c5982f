/**
 * The backtest report in a real browser: `replay --report` over a labelled file, opened by
 * headless Chromium (Debian's `chromium`): the charts are drawn (pixels of the value line and of
 * the alert markers in a screenshot) and the page's numbers are replay's own.
 */
import assert from "node:assert/strict";
import { PNG } from "pngjs";
import { Buffer } from "node:buffer";
import { sensorEvents } from "../../src/sensors.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function chromium(dir: string, ...args: string[]) {
  const out = await new Deno.Command("chromium", {
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${dir}/profile`, ...args],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name:
    "replay --report: one self-contained page, its charts drawn in Chromium, its numbers replay's own",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "anomaly-flow-report-" });
    try {
      const lines: string[] = [];
      for (const { event, injected } of sensorEvents({ seed: 4 })) {
        if (lines.length === 3000) break;
        lines.push(JSON.stringify({ ...event, injected }));
      }
      await Deno.writeTextFile(`${dir}/events.jsonl`, lines.join("\n") + "\n");
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "replay", `${dir}/events.jsonl`, "--report", `${dir}/r.html`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      const out = new TextDecoder().decode(run.stdout).trim().split("\n").map((l) => JSON.parse(l));
      const html = await Deno.readTextFile(`${dir}/r.html`);
      assert.ok(
        !/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!github)/i.test(
          html.replace(/\/\*[\s\S]*?\*\//g, ""),
        ),
        "no network needed",
      );

      // The numbers, after the page's script ran, are replay's own.
      const dom = await chromium(dir, "--dump-dom", `file://${dir}/r.html`);
      const cell = (id: string) => dom.match(new RegExp(`id="${id}">([^<]*)<`))?.[1];
      assert.equal(Number(cell("records")), out.length);
      assert.equal(Number(cell("rejected")), out.filter((r) => r.outcome === "invalid").length);
      assert.equal(Number(cell("alerts")), out.filter((r) => r.anomaly).length);
      assert.ok(Number(cell("alerts")) > 20);
      const checks = new Map<string, number>();
      for (const r of out) {
        if (r.outcome === "invalid") checks.set(r.check, (checks.get(r.check) ?? 0) + 1);
      }
      for (const [check, n] of checks) {
        assert.match(dom, new RegExp(`<td>${check}</td><td class="n">${n}</td>`), check);
      }
      // Alerts by cause: the tally of replay's own `cause` of each anomaly.
      const causes = new Map<string, number>();
      for (const r of out.filter((r) => r.anomaly)) {
        const key = `${r.cause.basis}/${r.cause.feature}`;
        causes.set(key, (causes.get(key) ?? 0) + 1);
      }
      assert.ok(causes.size > 0);
      for (const [cause, n] of causes) {
        assert.match(dom, new RegExp(`<td>${cause}</td><td class="n">${n}</td>`), cause);
      }
      const truth = lines.map((l) => JSON.parse(l).injected);
      const tp = out.filter((r, i) =>
        r.anomaly && ["value", "temperature"].includes(truth[i])
      ).length;
      assert.equal(Number(cell("precision")).toFixed(4), (tp / Number(cell("alerts"))).toFixed(4));
      assert.match(dom, /data-charts="5"/, "a chart pair per sensor was drawn");

      // The screenshot shows the charts: the value line's blue and the alert markers' red.
      await chromium(
        dir,
        "--window-size=1100,1400",
        `--screenshot=${dir}/r.png`,
        `file://${dir}/r.html`,
      );
      const png = PNG.sync.read(Buffer.from(await Deno.readFile(`${dir}/r.png`)));
      let blue = 0, red = 0;
      for (let i = 0; i < png.data.length; i += 4) {
        const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
        if (Math.abs(r - 0x1f) < 30 && Math.abs(g - 0x77) < 30 && Math.abs(b - 0xb4) < 30) blue++;
        if (Math.abs(r - 0xd6) < 30 && Math.abs(g - 0x27) < 30 && Math.abs(b - 0x28) < 30) red++;
      }
      console.log(`report_screenshot_blue_pixels=${blue} report_screenshot_red_pixels=${red}`);
      assert.ok(blue > 500, `the value line is drawn (${blue} blue pixels)`);
      assert.ok(red > 200, `alert markers are drawn (${red} red pixels)`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
