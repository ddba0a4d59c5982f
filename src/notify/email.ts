/**
 * E-mail delivery over SMTP with nodemailer: STARTTLS on 587 (required), implicit TLS on 465,
 * AUTH when a user is set, plain-text and HTML bodies. Connection failures are retried with
 * backoff; a refused login or a TLS failure is reported at once. The password never appears in a
 * result or an error.
 *
 * @module
 */
import { isIP } from "node:net";
import nodemailer from "nodemailer";
import { backoffDelay, type BackoffOptions, sleep } from "./retry.ts";
import type { Delivery } from "./slack.ts";

/** SMTP settings (the seed's `SMTP_*`, `EMAIL_TO`, plus a from address and a CA file). */
export interface SmtpSettings {
  host: string;
  /** Default: 587 (STARTTLS). */
  port: number;
  user?: string;
  password?: string;
  from: string;
  to: string[];
  /** PEM file of a CA to trust besides the system's (a private or self-signed server). */
  caFile?: string;
}

/** Options of {@link sendEmail}. */
export interface EmailOptions extends BackoffOptions {
  /** Attempts in all. Default: 4. */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The message of one e-mail. */
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

// deno-lint-ignore no-explicit-any
type Transport = any;

/** A nodemailer transport for `settings`. */
export async function createMailer(settings: SmtpSettings): Promise<Transport> {
  const ca = settings.caFile ? [await Deno.readTextFile(settings.caFile)] : undefined;
  return nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.port === 465,
    requireTLS: settings.port === 587,
    auth: settings.user ? { user: settings.user, pass: settings.password ?? "" } : undefined,
    // SNI takes a host name only; for an IP address the certificate's IP SAN is checked.
    tls: {
      ...(ca ? { ca } : {}),
      ...(isIP(settings.host) ? {} : { servername: settings.host }),
    },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
}

/** What went wrong, in words a person can act on (no secret in it). */
export function describeSmtpError(
  e: unknown,
  settings: SmtpSettings,
): { kind: string; retry: boolean; message: string } {
  const err = e as { code?: string; responseCode?: number; message?: string };
  const where = `${settings.host}:${settings.port}`;
  const detail = String(err.message ?? e).split(settings.password || "\u0000").join("[redacted]")
    .slice(0, 200);
  if (err.code === "EAUTH" || err.responseCode === 535 || err.responseCode === 534) {
    return { kind: "auth", retry: false, message: `authentication refused by ${where}: ${detail}` };
  }
  if (err.code === "ETLS" || /certificate|SSL|TLS|self.signed/i.test(detail)) {
    return { kind: "tls", retry: false, message: `TLS failed with ${where}: ${detail}` };
  }
  if (["ECONNECTION", "ETIMEDOUT", "ESOCKET", "ECONNREFUSED", "EDNS"].includes(err.code ?? "")) {
    return { kind: "connection", retry: true, message: `cannot reach ${where}: ${detail}` };
  }
  if ((err.responseCode ?? 0) >= 400 && (err.responseCode ?? 0) < 500) {
    return {
      kind: "temporary",
      retry: true,
      message: `${where} answered ${err.responseCode}: ${detail}`,
    };
  }
  return { kind: "other", retry: false, message: `sending via ${where} failed: ${detail}` };
}

/** Sends one e-mail, retrying connection failures. Never throws. */
export async function sendEmail(
  transport: Transport,
  settings: SmtpSettings,
  content: EmailContent,
  options: EmailOptions = {},
): Promise<Delivery & { kind?: string }> {
  const attempts = options.attempts ?? 4;
  const wait = options.sleep ?? sleep;
  let last = { kind: "other", message: "not sent" };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await transport.sendMail({ from: settings.from, to: settings.to, ...content });
      return { ok: true, attempts: attempt };
    } catch (e) {
      const d = describeSmtpError(e, settings);
      last = d;
      if (!d.retry) return { ok: false, attempts: attempt, error: d.message, kind: d.kind };
    }
    if (attempt < attempts) await wait(backoffDelay(attempt, options));
  }
  return { ok: false, attempts, error: last.message, kind: last.kind };
}
