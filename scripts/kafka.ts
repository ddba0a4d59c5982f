/**
 * A real Apache Kafka broker for development, tests and `deno task stack`: fetched from Maven
 * Central with `mvn`, cached under `.local/`, run as a single KRaft node (broker + controller) with
 * the machine's Java 17 on loopback.
 *
 * ```sh
 * deno task kafka fetch     # download the jars once (the only step that touches the network)
 * deno task kafka start     # format storage if needed, start, wait for metadata, create topics
 * deno task kafka status
 * deno task kafka stop
 * ```
 *
 * Settings (environment): `KAFKA_PORT` (9092), `KAFKA_CONTROLLER_PORT` (9094; 9093 is
 * Alertmanager's), `KAFKA_DATA_DIR` (`.local/kafka-data`), `KAFKA_HEAP` (`512m`).
 *
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import { ensureTopics, projectTopics } from "../src/topics.ts";
import { loadConfig } from "../src/config.ts";

/** Apache Kafka version fetched from Maven Central (see scripts/kafka/pom.xml). */
export const KAFKA_VERSION = "4.1.1";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** Folder (git-ignored) holding everything this project downloads or keeps at run time. */
export const LOCAL_DIR = `${ROOT}/.local`;

/** Where and how one broker runs. */
export interface BrokerOptions {
  /** Client port on 127.0.0.1. Default: `KAFKA_PORT` or 9092. */
  port?: number;
  /** KRaft controller port on 127.0.0.1. Default: `KAFKA_CONTROLLER_PORT` or 9094. */
  controllerPort?: number;
  /** Log and metadata directory. Default: `KAFKA_DATA_DIR` or `.local/kafka-data`. */
  dataDir?: string;
  /** JVM heap. Default: `KAFKA_HEAP` or `512m`. */
  heap?: string;
  /** Time to wait for the first successful metadata request. Default: 60 s. */
  readyTimeoutMs?: number;
  /**
   * The port clients are told to connect to on 127.0.0.1 (the PLAINTEXT listener's advertised
   * port), when something forwards it to `port` (a test's proxy). Default: `port`.
   */
  advertisedPort?: number;
  /**
   * An extra SASL_SSL listener (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 over TLS) on 127.0.0.1:`port`, with a PKCS12
   * keystore and the SCRAM users created when the storage is formatted.
   */
  saslSsl?: SaslSslListener;
}

/** A SASL_SSL listener of {@link BrokerOptions}. */
export interface SaslSslListener {
  port: number;
  /** PKCS12 keystore with the broker's key and certificate chain. */
  keystore: string;
  keystorePassword: string;
  users: { name: string; password: string }[];
}

/** A broker this script started or found running. */
export interface Broker {
  /** `127.0.0.1:<port>`, for `KAFKA_BROKER`. */
  address: string;
  /** JVM process id. */
  pid: number;
  /** Resolved data directory. */
  dataDir: string;
}

function resolve(options: BrokerOptions) {
  const env = (name: string) => Deno.env.get(name);
  const port = options.port ?? Number(env("KAFKA_PORT") ?? 9092);
  const controllerPort = options.controllerPort ?? Number(env("KAFKA_CONTROLLER_PORT") ?? 9094);
  for (const [name, value] of [["KAFKA_PORT", port], ["KAFKA_CONTROLLER_PORT", controllerPort]]) {
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) {
      throw new Error(`${name}=${value} is not a port: expected an integer in 1..65535`);
    }
  }
  return {
    port,
    controllerPort,
    dataDir: options.dataDir ?? env("KAFKA_DATA_DIR") ?? `${LOCAL_DIR}/kafka-data`,
    heap: options.heap ?? env("KAFKA_HEAP") ?? "512m",
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    saslSsl: options.saslSsl,
    advertisedPort: options.advertisedPort ?? port,
  };
}

/** Folder of the cached jars for {@link KAFKA_VERSION}. */
export const libsDir = (): string => `${LOCAL_DIR}/kafka-${KAFKA_VERSION}/libs`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${text}`);
  return text;
}

/**
 * Downloads the broker, its storage tool and a log4j2 backend with `mvn` into `.local/` unless
 * already cached. Returns the libs folder.
 */
export async function fetchKafka(): Promise<string> {
  const libs = libsDir();
  const marker = `${libs}/.complete`;
  if (await exists(marker)) return libs;
  console.error(
    `kafka: fetching Apache Kafka ${KAFKA_VERSION} and its dependencies (~55 MB, once) from ` +
      `Maven Central into ${libs}`,
  );
  // Progress: the Maven cache grows as jars arrive; say how far it has got every 5 s.
  const started = Date.now();
  const ticker = setInterval(async () => {
    const mb = (await folderBytes(`${LOCAL_DIR}/m2`)) / 2 ** 20;
    console.error(
      `kafka: ${mb.toFixed(1)} MB downloaded so far (${
        Math.round((Date.now() - started) / 1000)
      } s)`,
    );
  }, 5000);
  try {
    await fetchJars(libs);
  } finally {
    clearInterval(ticker);
  }
  await Deno.writeTextFile(marker, new Date().toISOString());
  console.error(`kafka: fetched in ${Math.round((Date.now() - started) / 1000)} s`);
  return libs;
}

/** Bytes of the files under `dir` (0 when it does not exist). */
async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) total += await folderBytes(path);
      else if (e.isFile) total += (await Deno.stat(path)).size;
    }
  } catch {
    // not there yet
  }
  return total;
}

async function fetchJars(libs: string): Promise<void> {
  await run("mvn", [
    "-q",
    "-B",
    `-Dmaven.repo.local=${LOCAL_DIR}/m2`,
    "-f",
    `${ROOT}/scripts/kafka/pom.xml`,
    `-Dkafka.version=${KAFKA_VERSION}`,
    "dependency:copy-dependencies",
    `-DoutputDirectory=${libs}`,
    "-DincludeScope=runtime",
  ]);
}

function serverProperties(o: ReturnType<typeof resolve>): string {
  const s = o.saslSsl;
  const secure = s
    ? [
      "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
      "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=" +
      "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=" +
      "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "listener.name.sasl_ssl.plain.sasl.jaas.config=" +
      "org.apache.kafka.common.security.plain.PlainLoginModule required " +
      s.users.map((u) => `user_${u.name}=${JSON.stringify(u.password)}`).join(" ") + ";",
      "ssl.keystore.type=PKCS12",
      `ssl.keystore.location=${s.keystore}`,
      `ssl.keystore.password=${s.keystorePassword}`,
      `ssl.key.password=${s.keystorePassword}`,
    ]
    : [];
  const extra = s ? `,SASL_SSL://127.0.0.1:${s.port}` : "";
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.bootstrap.servers=127.0.0.1:${o.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}${extra}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${o.advertisedPort}${extra}`,
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
    ...secure,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${o.dataDir}/log`,
    "num.partitions=1",
    "auto.create.topics.enable=false",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=4",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    "delete.topic.enable=true",
    "log.retention.hours=24",
    "log.segment.bytes=104857600",
    "",
  ].join("\n");
}

const pidFile = (dataDir: string) => `${dataDir}/broker.pid`;

/** True while process `pid` exists. */
export function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

async function readPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(pidFile(dataDir))).trim());
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when a metadata request to `address` succeeds. */
export async function brokerReady(address: string): Promise<boolean> {
  const kafka = new Kafka({
    clientId: "anomaly-flow-probe",
    brokers: [address],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Starts a broker unless one is already running on the same data directory: fetches the jars
 * if needed, formats KRaft storage on first use, waits until a metadata request succeeds and
 * creates the project's topics.
 */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const o = resolve(options);
  const address = `127.0.0.1:${o.port}`;
  const running = await readPid(o.dataDir);
  if (running !== undefined && await brokerReady(address)) {
    return { address, pid: running, dataDir: o.dataDir };
  }
  if (running === undefined && await brokerReady(address)) {
    // Another broker (another data directory) would answer for the one we start.
    throw new Error(
      `a Kafka broker not started from ${o.dataDir} already answers on ${address}: stop it ` +
        `(deno task kafka stop, with its KAFKA_DATA_DIR) or choose another KAFKA_PORT`,
    );
  }
  const libs = await fetchKafka();
  await Deno.mkdir(`${o.dataDir}/log`, { recursive: true });
  const config = `${o.dataDir}/server.properties`;
  await Deno.writeTextFile(config, serverProperties(o));
  const classpath = `${libs}/*`;
  const log4j = `${ROOT}/scripts/kafka/log4j2.properties`;
  const jvm = [
    `-Xms${o.heap}`,
    `-Xmx${o.heap}`,
    "-XX:+UseG1GC",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${log4j}`,
    `-Dkafka.logs.dir=${o.dataDir}`,
    "-cp",
    classpath,
  ];
  if (!await exists(`${o.dataDir}/log/meta.properties`)) {
    // Base64url of 16 random bytes; the storage tool reads a leading "-" as an option, so
    // that one character is replaced (1 in 32 ids would otherwise fail to format).
    const clusterId = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
      .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "").replace(/^[-_]/, "A");
    await run("java", [
      ...jvm,
      "kafka.tools.StorageTool",
      "format",
      "--standalone",
      "--cluster-id",
      clusterId,
      "--config",
      config,
      ...(o.saslSsl?.users ?? []).flatMap((u) =>
        ["SCRAM-SHA-256", "SCRAM-SHA-512"].flatMap((m) => [
          "--add-scram",
          `${m}=[name=${u.name},password=${u.password}]`,
        ])
      ),
    ]);
  }
  // `exec` so the pid we record is the JVM's; `setsid` so a Ctrl-C meant for a test run or a
  // foreground task does not reach the broker behind our back (stopBroker stops it).
  const javaCmd = ["java", ...jvm, "kafka.Kafka", config].map((a) => `'${a}'`).join(" ");
  const child = new Deno.Command("setsid", {
    args: ["sh", "-c", `exec ${javaCmd} >>'${o.dataDir}/stdout.log' 2>&1`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  await Deno.writeTextFile(pidFile(o.dataDir), `${child.pid}\n`);
  const deadline = Date.now() + o.readyTimeoutMs;
  while (!await brokerReady(address)) {
    if (!alive(child.pid)) {
      const tail = await Deno.readTextFile(`${o.dataDir}/stdout.log`).catch(() => "");
      throw new Error(`Kafka exited during start-up; last output:\n${tail.slice(-2000)}`);
    }
    if (Date.now() > deadline) {
      await stopBroker(options);
      throw new Error(`Kafka at ${address} not ready after ${o.readyTimeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { address, pid: child.pid, dataDir: o.dataDir };
}

/** Stops the broker of this data directory (SIGTERM, then SIGKILL after 30 s). True if one ran. */
export async function stopBroker(options: BrokerOptions = {}): Promise<boolean> {
  const o = resolve(options);
  const pid = await readPid(o.dataDir);
  if (pid === undefined) return false;
  Deno.kill(pid, "SIGTERM");
  const deadline = Date.now() + 30_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) Deno.kill(pid, "SIGKILL");
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  await Deno.remove(pidFile(o.dataDir)).catch(() => {});
  return true;
}

async function main(args: string[]): Promise<number> {
  const command = args[0] ?? "start";
  switch (command) {
    case "fetch":
      console.log(`kafka_cached libs=${await fetchKafka()}`);
      return 0;
    case "start": {
      const started = Date.now();
      const broker = await startBroker();
      await ensureTopics(broker.address, projectTopics(loadConfig().config));
      console.log(
        `kafka_ready address=${broker.address} pid=${broker.pid} data_dir=${broker.dataDir} ` +
          `ms=${Date.now() - started}`,
      );
      return 0;
    }
    case "stop":
      console.log((await stopBroker()) ? "kafka_stopped" : "kafka_not_running");
      return 0;
    case "status": {
      const o = resolve({});
      const pid = await readPid(o.dataDir);
      const ready = await brokerReady(`127.0.0.1:${o.port}`);
      console.log(`kafka_status pid=${pid ?? "none"} ready=${ready}`);
      return ready ? 0 : 1;
    }
    default:
      console.error(`unknown command "${command}": expected one of fetch, start, stop, status`);
      return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
