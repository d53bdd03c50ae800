/** A real SMTP server (the smtp-server package) on loopback for the e-mail tests; what it receives is parsed with mailparser. */
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** The password the server takes from user `nines`. */
export const PASSWORD = 'smtp-pa55word-for-tests';

/** One message the server took. */
export interface Received {
  mail: ParsedMail;
  rcptTo: string[];
}

/**
 * An SMTP server on loopback taking `method` logins with nines/{@link PASSWORD} (echoing a wrong
 * password in its refusal), without STARTTLS. `refuseRecipients`: refuse every recipient, or those
 * it says (550, echoing the address, as servers do). `waitFor(n)` resolves once it has n messages.
 */
export async function smtpServer(
  cleanup: { add: (f: () => Promise<void>) => unknown },
  method: 'PLAIN' | 'LOGIN',
  options: { refuseRecipients?: boolean | ((address: string) => boolean) } = {},
) {
  const got: Received[] = [];
  const logins: string[] = [];
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  const refuse = options.refuseRecipients;
  const server = new SMTPServer({
    authMethods: [method],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push(auth.method);
      if (auth.username === 'nines' && auth.password === PASSWORD) callback(null, { user: 'nines' });
      else callback(new Error(`Invalid login nines/${auth.password ?? ''}`)); // a server that echoes what it got
    },
    onRcptTo(address, _session, callback) {
      if (refuse === true || (typeof refuse === 'function' && refuse(address.address)))
        callback(Object.assign(new Error(`no such mailbox <${address.address}>`), { responseCode: 550 }));
      else callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          got.push({ mail, rcptTo: session.envelope.rcptTo.map((r) => r.address) });
          callback();
          for (const w of waiting.filter((x) => got.length >= x.n)) w.resolve();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const waitFor = (n: number) => new Promise<void>((resolve) => (got.length >= n ? resolve() : waiting.push({ n, resolve })));
  return { got, logins, waitFor, port: (server.server.address() as AddressInfo).port };
}

/** The raw value of header `name` of a received message (mailparser parses the List-* headers into objects). */
export const rawHeader = (mail: ParsedMail, name: string) =>
  mail.headerLines.find((l) => l.key === name.toLowerCase())?.line.replace(/^[^:]*:\s*/, '');
