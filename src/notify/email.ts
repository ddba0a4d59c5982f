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
import { retry, type RetryOptions } from "../retry.ts";
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

/** Options of {@link sendEmail} (backoff: {@link RetryOptions}, first wait 500 ms). */
export interface EmailOptions extends Pick<RetryOptions, "baseMs" | "maxMs" | "sleep"> {
  /** Attempts in all. Default: 4. */
  attempts?: number;
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
  let attempts = 0;
  const send = async () => {
    attempts++;
    try {
      await transport.sendMail({ from: settings.from, to: settings.to, ...content });
    } catch (e) {
      throw describeSmtpError(e, settings);
    }
  };
  try {
    await retry(send, {
      attempts: options.attempts ?? 4,
      baseMs: options.baseMs,
      maxMs: options.maxMs,
      sleep: options.sleep,
      retryable: (d) => (d as ReturnType<typeof describeSmtpError>).retry,
    });
    return { ok: true, attempts };
  } catch (e) {
    const d = e as ReturnType<typeof describeSmtpError>;
    return { ok: false, attempts, error: d.message, kind: d.kind };
  }
}
