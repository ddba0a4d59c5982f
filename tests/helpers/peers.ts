/**
 * Real notification peers on loopback: an SMTP server (npm:smtp-server, AUTH + STARTTLS with a
 * self-signed certificate made by openssl) and an HTTP server standing in for Slack.
 *
 * @module
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { type AddressObject, simpleParser } from "mailparser";

/** A self-signed certificate for 127.0.0.1 / localhost; returns PEM paths. */
export async function selfSignedCert(): Promise<{ key: string; cert: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "anomaly-flow-tls-" });
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`openssl failed: ${new TextDecoder().decode(out.stderr)}`);
  return { key: `${dir}/key.pem`, cert: `${dir}/cert.pem`, dir };
}

/** A received e-mail. */
export interface ReceivedMail {
  subject: string;
  text: string;
  html: string;
  to: string;
  from: string;
  /** True when the session was upgraded with STARTTLS before the data. */
  secure: boolean;
  user?: string;
}

/** A running SMTP server. */
export interface SmtpPeer extends AsyncDisposable {
  port: number;
  ca: string;
  mails: ReceivedMail[];
  /** Login attempts refused. */
  refused: number;
}

/**
 * Starts an SMTP server requiring STARTTLS then AUTH with `user`/`password`, on `port` (default:
 * any free one), trusting `tls` (default: a new self-signed certificate).
 */
export async function startSmtp(
  user: string,
  password: string,
  port = 0,
  given?: { key: string; cert: string; dir: string },
): Promise<SmtpPeer> {
  const tls = given ?? await selfSignedCert();
  const mails: ReceivedMail[] = [];
  const peer = { port: 0, ca: tls.cert, mails, refused: 0 } as SmtpPeer;
  const server = new SMTPServer({
    secure: false,
    key: await Deno.readTextFile(tls.key),
    cert: await Deno.readTextFile(tls.cert),
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user });
      peer.refused++;
      const e = new Error("Invalid username or password") as Error & { responseCode: number };
      e.responseCode = 535;
      cb(e);
    },
    onData(stream, session, cb) {
      const text = (a: AddressObject | AddressObject[] | undefined) =>
        (Array.isArray(a) ? a : a ? [a] : []).map((x) => x.text).join(", ");
      simpleParser(stream).then((m) => {
        mails.push({
          subject: m.subject ?? "",
          text: m.text ?? "",
          html: m.html || "",
          to: text(m.to),
          from: text(m.from),
          secure: session.secure,
          user: session.user as string | undefined,
        });
        cb();
      }, cb);
    },
  });
  // A client that rejects the certificate aborts the handshake; the server reports it as an error.
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  peer.port = (server.server.address() as AddressInfo).port;
  peer[Symbol.asyncDispose] = async () => {
    await new Promise<void>((r) => server.close(() => r()));
    if (!given) await Deno.remove(tls.dir, { recursive: true });
  };
  return peer;
}

/** An HTTP peer standing in for Slack: answers with `responses` in turn (then 200). */
export interface HttpPeer extends AsyncDisposable {
  url: string;
  bodies: unknown[];
  hits: number;
}

/**
 * Starts an HTTP server whose answers are `responses` (status, headers), then 200 "ok"; until
 * `failUntil` (ms since epoch) it answers 500.
 */
export function startHttp(
  responses: { status: number; headers?: Record<string, string> }[] = [],
  failUntil = 0,
): HttpPeer {
  const queue = [...responses];
  const peer = { url: "", bodies: [] as unknown[], hits: 0 } as HttpPeer;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    peer.hits++;
    const next = Date.now() < failUntil ? { status: 500 } : queue.shift();
    if (next && next.status !== 200) {
      await req.body?.cancel();
      return new Response("no", { status: next.status, headers: next.headers });
    }
    peer.bodies.push(await req.json());
    return new Response("ok");
  });
  peer.url = `http://127.0.0.1:${server.addr.port}/services/T000/B000/SECRETTOKEN`;
  peer[Symbol.asyncDispose] = () => server.shutdown();
  return peer;
}

/** A private CA and a server certificate for 127.0.0.1 signed by it (PEM, and PKCS12). */
export async function privateCa(
  password: string,
): Promise<{ dir: string; ca: string; p12: string }> {
  const dir = await Deno.makeTempDir({ prefix: "anomaly-flow-ca-" });
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-subj",
    "/CN=anomaly-flow test CA",
  ]);
  await run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(`${dir}/san.ext`, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await run([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    "server.pem",
    "-extfile",
    "san.ext",
  ]);
  await run([
    "pkcs12",
    "-export",
    "-in",
    "server.pem",
    "-inkey",
    "server.key",
    "-certfile",
    "ca.pem",
    "-out",
    "server.p12",
    "-passout",
    `pass:${password}`,
  ]);
  return { dir, ca: `${dir}/ca.pem`, p12: `${dir}/server.p12` };
}
