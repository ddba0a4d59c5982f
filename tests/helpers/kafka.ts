/**
 * The real broker of a `deno task test` run, and per-test topics on it.
 *
 * Integration tests call {@link testBroker}; it fails (never skips) when no broker was started,
 * so a suite cannot pass without the Kafka behaviour it claims.
 *
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
// The tests' own clients on the product's fixed kafkajs (no 1 ms polling per connection) and its
// record encoder (imported before any client produces).
import "../../src/kafkajs_fix.ts";
import "../../src/kafkajs_records.ts";

/** Address of the run's broker (set by scripts/test.ts). Throws when there is none. */
export function testBroker(): string {
  const address = Deno.env.get("ANOMALY_FLOW_TEST_KAFKA");
  if (!address) {
    throw new Error(
      "no test broker: integration tests run through `deno task test`, which starts a real Kafka broker",
    );
  }
  return address;
}

/** A kafkajs client on the test broker, quiet. */
export function testKafka(clientId = "anomaly-flow-test"): Kafka {
  return new Kafka({ clientId, brokers: [testBroker()], logLevel: logLevel.NOTHING });
}

let counter = 0;

/** A topic created for one test, deleted by `Symbol.asyncDispose` (use with `await using`). */
export interface TestTopic extends AsyncDisposable {
  name: string;
}

/** Creates a topic with a unique name (`<prefix>-<pid>-<n>-<random>`) and `partitions` partitions. */
export async function testTopic(prefix: string, partitions = 1): Promise<TestTopic> {
  const name = `${prefix}-${Deno.pid}-${++counter}-${crypto.randomUUID().slice(0, 8)}`;
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }],
    });
  } finally {
    await admin.disconnect();
  }
  return {
    name,
    async [Symbol.asyncDispose]() {
      const admin = testKafka().admin();
      await admin.connect();
      try {
        await admin.deleteTopics({ topics: [name] });
      } finally {
        await admin.disconnect();
      }
    },
  };
}
