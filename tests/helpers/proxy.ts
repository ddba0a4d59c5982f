/**
 * A TCP proxy in front of a real Kafka broker that can hold back the broker's produce requests:
 * a slow or congested broker, as a client sees it, for a set time. Everything else passes
 * through at once, in order.
 *
 * @module
 */

/** A running proxy. */
export interface KafkaProxy extends AsyncDisposable {
  /** Delay applied to each produce request from now on (0: none). */
  produceDelayMs: number;
  /** Produce requests held back so far. */
  readonly held: number;
  close(): Promise<void>;
}

const PRODUCE = 0;

/** Listens on 127.0.0.1:`port` and forwards each connection to 127.0.0.1:`target`. */
export function startKafkaProxy(port: number, target: number): KafkaProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const open = new Set<Deno.Conn>();
  const proxy = {
    produceDelayMs: 0,
    held: 0,
    async close() {
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await accepting;
    },
    [Symbol.asyncDispose]() {
      return proxy.close();
    },
  };
  const forward = async (client: Deno.Conn) => {
    let broker: Deno.Conn;
    try {
      broker = await Deno.connect({ hostname: "127.0.0.1", port: target });
    } catch {
      client.close();
      return;
    }
    open.add(client);
    open.add(broker);
    const closeBoth = () => {
      for (const c of [client, broker]) {
        open.delete(c);
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    };
    // Broker → client as it comes; client → broker one request at a time (size-prefixed frames,
    // the API key in the first two bytes of each), produce requests after the delay.
    broker.readable.pipeTo(client.writable, { preventClose: true }).catch(() => {}).finally(
      closeBoth,
    );
    const writer = broker.writable.getWriter();
    let pending = new Uint8Array(0);
    try {
      for await (const chunk of client.readable) {
        const joined = new Uint8Array(pending.length + chunk.length);
        joined.set(pending);
        joined.set(chunk, pending.length);
        let at = 0;
        while (joined.length - at >= 6) {
          const view = new DataView(joined.buffer, joined.byteOffset + at);
          const size = view.getInt32(0);
          if (joined.length - at < 4 + size) break;
          if (view.getInt16(4) === PRODUCE && proxy.produceDelayMs > 0) {
            proxy.held++;
            await new Promise((r) => setTimeout(r, proxy.produceDelayMs));
          }
          await writer.write(joined.slice(at, at + 4 + size));
          at += 4 + size;
        }
        pending = joined.slice(at);
      }
    } catch {
      // connection gone
    } finally {
      closeBoth();
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) void forward(conn);
    } catch {
      // listener closed
    }
  })();
  return proxy;
}

/** A broker of a test's own behind a {@link KafkaProxy}, with three one-partition topics. */
export interface ProxiedBroker extends AsyncDisposable {
  proxy: KafkaProxy;
  /** Address clients use (the proxy's). */
  address: string;
  kafka: import("kafkajs").Kafka;
  topics: { events: string; alerts: string; dlq: string };
  /** An idempotent producer on `kafka`, connected. */
  producer: import("kafkajs").Producer;
}

/**
 * Starts a broker on `ports.port` behind a proxy on `ports.advertisedPort`, creates the topics
 * `<prefix>-events`, `-alerts`, `-dlq`; disposing stops everything and removes its data.
 */
export async function startProxiedBroker(
  prefix: string,
  ports: { port: number; controllerPort: number; advertisedPort: number },
): Promise<ProxiedBroker> {
  const { startBroker, stopBroker } = await import("../../scripts/kafka.ts");
  const { Kafka, logLevel } = await import("kafkajs");
  const dataDir = await Deno.makeTempDir({ prefix: `anomaly-flow-${prefix}-` });
  const options = { ...ports, heap: "384m", dataDir };
  const proxy = startKafkaProxy(ports.advertisedPort, ports.port);
  await startBroker(options);
  const address = `127.0.0.1:${ports.advertisedPort}`;
  const kafka = new Kafka({ clientId: prefix, brokers: [address], logLevel: logLevel.NOTHING });
  const topics = { events: `${prefix}-events`, alerts: `${prefix}-alerts`, dlq: `${prefix}-dlq` };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 1 })),
  });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return {
    proxy,
    address,
    kafka,
    topics,
    producer,
    async [Symbol.asyncDispose]() {
      await producer.disconnect().catch(() => {});
      await stopBroker(options);
      await proxy.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
