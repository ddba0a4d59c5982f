/**
 * `deno task stack`: the whole product in one command.
 *
 * - With a Docker engine (`docker info` answers): `docker compose up` with compose.yaml; Ctrl-C
 *   runs `docker compose down`.
 * - Without one: the local stack as processes: the Kafka broker (scripts/kafka.ts), Prometheus
 *   and Alertmanager from the Debian packages when installed (a clear message when not), the
 *   processor, the generator and the alert consumer. Prometheus and Alertmanager run the
 *   committed files of `prometheus/`, with the ports of this run. Ctrl-C (or SIGTERM) stops
 *   everything it started and leaves no process behind.
 *
 * Ports (environment): `KAFKA_PORT` 9092, `METRICS_PORT` 8000, `ALERTS_METRICS_PORT` 8001,
 * `PROMETHEUS_PORT` 9090, `ALERTMANAGER_PORT` 9093. State: `.local/stack/`.
 *
 * @module
 */
import { LOCAL_DIR, startBroker, stopBroker } from "./kafka.ts";
import { ensureTopics, projectTopics } from "../src/topics.ts";
import { loadConfig } from "../src/config.ts";
import { ensurePackages } from "./prereqs.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = `${ROOT}src/main.ts`;

/** Ports of one stack. */
export interface StackPorts {
  processor: number;
  alerts: number;
  prometheus: number;
  alertmanager: number;
}

/** The committed local-stack ports (prometheus/prometheus.yml). */
export const DEFAULT_PORTS: StackPorts = {
  processor: 8000,
  alerts: 8001,
  prometheus: 9090,
  alertmanager: 9093,
};

/**
 * Copies the committed Prometheus and Alertmanager files into `dir`, with the ports of
 * `ports` in place of the defaults. Returns the paths to run them with.
 */
export async function renderOpsConfig(
  dir: string,
  ports: StackPorts,
): Promise<{ prometheus: string; alertmanager: string }> {
  await Deno.mkdir(`${dir}/secrets`, { recursive: true });
  let prom = await Deno.readTextFile(`${ROOT}prometheus/prometheus.yml`);
  for (const key of Object.keys(DEFAULT_PORTS) as (keyof StackPorts)[]) {
    prom = prom.replaceAll(`localhost:${DEFAULT_PORTS[key]}"`, `localhost:${ports[key]}"`);
  }
  await Deno.writeTextFile(`${dir}/prometheus.yml`, prom);
  await Deno.copyFile(`${ROOT}prometheus/alerts.yml`, `${dir}/alerts.yml`);
  await Deno.copyFile(`${ROOT}prometheus/alertmanager.yml`, `${dir}/alertmanager.yml`);
  // Secrets are files, never part of the committed configuration: keep the user's, else empty
  // placeholders (notifications then fail and are logged by Alertmanager).
  for (const name of ["slack_webhook_url", "smtp_password"]) {
    const own = `${ROOT}prometheus/secrets/${name}`;
    const target = `${dir}/secrets/${name}`;
    try {
      await Deno.copyFile(own, target);
    } catch {
      await Deno.writeTextFile(
        target,
        name === "slack_webhook_url" ? "http://127.0.0.1:9/unset\n" : "\n",
      );
    }
  }
  return { prometheus: `${dir}/prometheus.yml`, alertmanager: `${dir}/alertmanager.yml` };
}

/**
 * Command lines of Prometheus and Alertmanager for a rendered config in `dir`. Both run in `dir`:
 * Alertmanager reads `*_file` secrets relative to its working directory.
 */
export function opsCommands(
  dir: string,
  ports: StackPorts,
): { name: string; cmd: string; args: string[]; cwd: string }[] {
  return [
    {
      name: "prometheus",
      cmd: "prometheus",
      cwd: dir,
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/prometheus-data`,
        `--web.listen-address=127.0.0.1:${ports.prometheus}`,
        "--web.enable-lifecycle",
      ],
    },
    {
      name: "alertmanager",
      cmd: "prometheus-alertmanager",
      cwd: dir,
      args: [
        `--config.file=${dir}/alertmanager.yml`,
        `--storage.path=${dir}/alertmanager-data`,
        `--web.listen-address=127.0.0.1:${ports.alertmanager}`,
        "--cluster.listen-address=", // single instance: no gossip port (it would take 9094)
      ],
    },
  ];
}

async function dockerAvailable(): Promise<boolean> {
  if (Deno.env.get("STACK_MODE") === "local") return false;
  try {
    const out = await new Deno.Command("docker", { args: ["info"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

async function runCompose(): Promise<number> {
  console.log("stack: Docker engine found: docker compose up (Ctrl-C: docker compose down)");
  const up = new Deno.Command("docker", { args: ["compose", "up"], cwd: ROOT, stdin: "null" })
    .spawn();
  const down = async () => {
    await new Deno.Command("docker", { args: ["compose", "down"], cwd: ROOT }).output();
  };
  Deno.addSignalListener("SIGINT", () => void down());
  Deno.addSignalListener("SIGTERM", () => void down());
  return (await up.status).code;
}

async function runLocal(): Promise<void> {
  const env = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
  const ports: StackPorts = {
    processor: env("METRICS_PORT", 8000),
    alerts: env("ALERTS_METRICS_PORT", 8001),
    prometheus: env("PROMETHEUS_PORT", 9090),
    alertmanager: env("ALERTMANAGER_PORT", 9093),
  };
  const dir = `${LOCAL_DIR}/stack`;
  // Prometheus and Alertmanager are half of what the stack promises: installed or a clear stop.
  try {
    await ensurePackages("stack", undefined, ["prometheus", "prometheus-alertmanager", "kcat"]);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
  const broker = await startBroker();
  await ensureTopics(broker.address, projectTopics(loadConfig().config));
  console.log(`stack: kafka ready at ${broker.address}`);

  const children: { name: string; child: Deno.ChildProcess }[] = [];
  const spawn = (
    name: string,
    cmd: string,
    args: string[],
    cwd = ROOT,
  ) => {
    const child = new Deno.Command(cmd, {
      args,
      cwd,
      env: {
        KAFKA_BROKER: broker.address,
        METRICS_PORT: String(ports.processor),
        ALERTS_METRICS_PORT: String(ports.alerts),
      },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    children.push({ name, child });
  };

  const urls: string[] = [];
  const config = await renderOpsConfig(dir, ports);
  for (const ops of opsCommands(dir, ports)) {
    spawn(ops.name, ops.cmd, ops.args, ops.cwd);
    const port = ops.name === "prometheus" ? ports.prometheus : ports.alertmanager;
    urls.push(`  ${ops.name.padEnd(18)} http://localhost:${port}`);
  }
  for (const command of ["process", "generate", "alerts"]) {
    spawn(command, Deno.execPath(), ["run", "-A", MAIN, command]);
  }

  console.log(`stack: up (configuration: ${config.prometheus})
  processor metrics  http://localhost:${ports.processor}/metrics  (/healthz, /readyz)
  alert consumer     http://localhost:${ports.alerts}/metrics
${urls.join("\n")}
  kafka              ${broker.address}  topics: ${
    projectTopics(loadConfig().config).map((t) => t.topic).join(", ")
  }
  grafana            with Docker only (compose.yaml)
  Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async (code: number) => {
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
    await Promise.all(children.map(({ child }) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      return Promise.race([
        child.status,
        new Promise<void>((r) => {
          timer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch {
              // gone meanwhile
            }
            r();
          }, 12_000);
        }),
      ]).finally(() => clearTimeout(timer));
    }));
    await stopBroker();
    console.log("stack: stopped");
    Deno.exit(code);
  };
  Deno.addSignalListener("SIGINT", () => void stop(0));
  Deno.addSignalListener("SIGTERM", () => void stop(0));
  for (const { name, child } of children) {
    child.status.then((s) => {
      if (!stopping) {
        console.error(`stack: ${name} exited with code ${s.code}; stopping the stack`);
        void stop(1);
      }
    });
  }
}

if (import.meta.main) {
  if (await dockerAvailable()) Deno.exit(await runCompose());
  await runLocal();
}
