import assert from "node:assert/strict";
import { alive, brokerReady, startBroker, stopBroker } from "../../scripts/kafka.ts";

Deno.test("the project's broker starts from the cache, answers metadata, and stops leaving no process", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "anomaly-flow-broker-" });
  const options = { port: 19192, controllerPort: 19194, dataDir, heap: "256m" };
  try {
    const broker = await startBroker(options);
    assert.equal(broker.address, "127.0.0.1:19192");
    assert.ok(await brokerReady(broker.address));
    assert.ok(alive(broker.pid));
    assert.equal(await stopBroker(options), true);
    assert.ok(!alive(broker.pid), `broker pid ${broker.pid} still alive after stop`);
    const ps = new TextDecoder().decode(
      (await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output()).stdout,
    );
    assert.ok(!ps.includes(dataDir), "no process refers to the stopped broker's data directory");
    assert.equal(await brokerReady(broker.address), false);
  } finally {
    await stopBroker(options);
    await Deno.remove(dataDir, { recursive: true });
  }
});
