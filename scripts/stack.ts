/**
 * `deno task stack`: the local stack as processes, without Docker: the Kafka broker, the
 * processor and the generator. Prints the URLs; Ctrl-C (or SIGTERM) stops everything it started
 * and leaves no process behind.
 *
 * Prometheus, Alertmanager, the alert consumer and the Docker Compose path are not wired yet.
 *
 * @module
 */
import { startBroker, stopBroker } from "./kafka.ts";
import { ensureTopics, PROJECT_TOPICS } from "../src/topics.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

const broker = await startBroker();
await ensureTopics(broker.address, PROJECT_TOPICS);
console.log(`stack: kafka ready at ${broker.address}`);

const env = { KAFKA_BROKER: Deno.env.get("KAFKA_BROKER") ?? broker.address };
const children = ["process", "generate"].map((command) => ({
  command,
  child: new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, command],
    env,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn(),
}));

console.log(`stack: up
  processor metrics  http://localhost:${
  Deno.env.get("METRICS_PORT") ?? 8000
}/metrics  (/healthz, /readyz)
  kafka              ${broker.address}  topics: ${PROJECT_TOPICS.map((t) => t.topic).join(", ")}
  Ctrl-C stops everything.`);

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  console.log("stack: stopping");
  for (const { child } of children) {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
  await Promise.all(children.map(({ child }) =>
    Promise.race([
      child.status,
      new Promise((r) => setTimeout(r, 12_000)).then(() => child.kill("SIGKILL")),
    ])
  ));
  await stopBroker();
  console.log("stack: stopped");
  Deno.exit(code);
}
Deno.addSignalListener("SIGINT", () => void stop(0));
Deno.addSignalListener("SIGTERM", () => void stop(0));
for (const { command, child } of children) {
  child.status.then((s) => {
    if (!stopping) {
      console.error(`stack: ${command} exited with code ${s.code}; stopping the stack`);
      void stop(1);
    }
  });
}
