import assert from "node:assert/strict";
import { SETTINGS } from "../../src/config.ts";

const root = new URL("../../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));
const ci = await Deno.readTextFile(new URL(".ci/run", root));

Deno.test("the README's test command is exactly what CI runs", () => {
  const cmd = readme.match(/^(npx --yes deno@[\d.]+ task test)\b/m)?.[1];
  assert.ok(cmd, "README names an npx test command");
  assert.ok(ci.split("\n").some((line) => line.trim() === cmd), `.ci/run runs "${cmd}"`);
});

Deno.test("the README's configuration table lists every setting with its default", () => {
  for (const spec of Object.values(SETTINGS)) {
    const row = readme.split("\n").find((l) =>
      new RegExp(`^\\|\\s*\`${spec.env}\`\\s*\\|`).test(l)
    );
    assert.ok(row, `README lists ${spec.env}`);
    assert.ok(row.includes(`\`--${spec.flag}\``), `README names --${spec.flag}`);
    if (spec.env !== "WORKERS" && spec.env !== "GEN_PRODUCERS") {
      assert.ok(row.includes(`\`${spec.default}\``), `${spec.env} default`);
    }
  }
});
