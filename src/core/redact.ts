/** Query parameters whose values are secrets (libpq's `password`, `sslpassword`, tokens, keys). */
const secretParam = /pass|secret|token|key/i;
/** `scheme://user:password@` inside free text. */
const credentialsInText = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;

/** `url` with its password (and any secret-looking query parameter) replaced by `***`; safe to log or show. */
export function redactUrl(url: string | URL): string {
  const text = String(url);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return redactText(text);
  }
  if (parsed.password) parsed.password = '***';
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParam.test(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.toString();
}

/**
 * `text` with the password of every `scheme://user:password@` replaced by `***`, and every occurrence
 * of the given secrets too (those shorter than 4 characters are left: they would garble the message
 * and reveal nothing).
 */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(credentialsInText, '$1:***@');
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) out = out.replaceAll(secret, '***');
  }
  return out;
}

/** The password of `url` in raw and percent-decoded form, to scrub from error messages. */
export function secretsOf(url: string): string[] {
  try {
    const { password, searchParams } = new URL(url);
    const secrets = password ? [password, safeDecode(password)] : [];
    for (const [name, value] of searchParams) if (secretParam.test(name) && value) secrets.push(value);
    return secrets;
  } catch {
    return [];
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A readable message for any thrown value; an empty AggregateError (a happy-eyeballs connect) lists its causes. */
export function messageOf(error: unknown): string {
  if (error instanceof AggregateError && !error.message) {
    const causes = [...new Set(error.errors.map(messageOf))].filter(Boolean);
    if (causes.length > 0) return causes.join('; ');
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * `error` itself when its message reads well and holds none of `secrets`; else a new Error with a
 * readable, redacted message (without `cause` when something was redacted, as the cause still holds it).
 */
export function readable(error: unknown, secrets: readonly string[] = []): Error {
  const raw = messageOf(error);
  const message = redactText(raw, secrets);
  if (message !== raw) return new Error(message);
  if (error instanceof Error && error.message && !(error instanceof AggregateError)) return error;
  return new Error(message, { cause: error });
}
