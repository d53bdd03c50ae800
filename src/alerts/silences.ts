import { z } from 'zod';
import { duration, formatProblems } from '../config/index.js';
import { IssueReader } from '../config/issues.js';
import type { SilenceMatcher, SilenceRecord, Store } from '../monitor/store/types.js';
import type { Silencer } from './silencing.js';

export type { SilenceMatcher, SilenceRecord } from '../monitor/store/types.js';

/** How long an expired silence is still listed (Alertmanager's default `--data.retention`). */
export const SILENCE_RETENTION_MS = 120 * 3_600_000;

/** A silence's state at an instant, in Alertmanager's words. */
export type SilenceState = 'pending' | 'active' | 'expired';

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name');
const instant = z
  .string()
  .refine((v) => Number.isFinite(Date.parse(v)) && /T.*(Z|[+-]\d\d:\d\d)$/.test(v), {
    message: 'expected an ISO 8601 date-time with an offset, like 2026-12-06T02:00:00Z',
  })
  .transform((v) => Date.parse(v));

const matcher = z
  .strictObject({
    name: labelName,
    value: z.string().max(1000),
    isRegex: z.boolean().default(false),
    isEqual: z.boolean().default(true),
  })
  .superRefine((m, ctx) => {
    if (!m.isRegex) return;
    try {
      new RegExp(`^(?:${m.value})$`);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'not a valid regular expression' });
    }
  });

/** A silence as the API takes it: Alertmanager's postable silence, with `duration` as an alternative to `endsAt`. */
const postable = z
  .strictObject({
    matchers: z.array(matcher).min(1, 'needs at least one matcher').max(20),
    /** Default: now. */
    startsAt: instant.optional(),
    endsAt: instant.optional(),
    /** Instead of endsAt: how long from startsAt. */
    duration: duration({ min: 60_000 }).optional(),
    /** Who and why: required, as Alertmanager requires them. */
    createdBy: z.string().min(1, 'must not be empty').max(200),
    comment: z.string().min(1, 'must not be empty').max(2000),
  })
  .superRefine((s, ctx) => {
    if ((s.endsAt === undefined) === (s.duration === undefined))
      ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'give either endsAt or duration' });
    // as Alertmanager: a silence whose every matcher matches an empty label would silence everything
    if (s.matchers.every((m) => matchesEmpty(m)))
      ctx.addIssue({ code: 'custom', path: ['matchers'], message: 'at least one matcher must not match the empty string' });
  });

/** True when `m` matches an empty (missing) label; an invalid regex, reported by itself, does not. */
function matchesEmpty(m: SilenceMatcher): boolean {
  try {
    return compile(m)('');
  } catch {
    return false;
  }
}

/** A test of one label value. */
function compile(m: SilenceMatcher): (value: string) => boolean {
  const test = m.isRegex
    ? (
        (re) => (v: string) =>
          re.test(v)
      )(new RegExp(`^(?:${m.value})$`))
    : (v: string) => v === m.value;
  return m.isEqual ? test : (v) => !test(v);
}

/** True when every matcher of `matchers` holds on `labels` (a missing label is the empty string). */
export function matches(matchers: readonly SilenceMatcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => compile(m)(labels[m.name] ?? ''));
}

/** The state of `s` at `now`. */
export function silenceState(s: Pick<SilenceRecord, 'startsAt' | 'endsAt'>, now: number): SilenceState {
  if (s.endsAt <= now) return 'expired';
  return s.startsAt > now ? 'pending' : 'active';
}

interface Held extends SilenceRecord {
  test: (labels: Readonly<Record<string, string>>) => boolean;
}

/**
 * Silences by label matchers, as Alertmanager's: kept in the store, held in memory so the evaluator
 * asks without I/O. A silenced alert still fires; it is not announced (lifecycle.ts). Reads what
 * the store holds at start and after every change; until the first read succeeds, nothing is
 * silenced and each evaluation tries again.
 */
export class Silences {
  readonly #store: Pick<Store, 'silences' | 'addSilence' | 'expireSilence'>;
  readonly #now: () => number;
  #held: Held[] = [];
  #loaded = false;
  #loading: Promise<void> | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;

  constructor(options: {
    store: Pick<Store, 'silences' | 'addSilence' | 'expireSilence'>;
    now: () => number;
    onError?: (error: unknown) => void;
  }) {
    this.#store = options.store;
    this.#now = options.now;
    this.#onError = options.onError;
  }

  /** Reads the silences from the store (those expired within the retention too). */
  async load(): Promise<void> {
    const records = await this.#store.silences({ endedAfter: this.#now() - SILENCE_RETENTION_MS });
    this.#held = records.map((r) => {
      const tests = r.matchers.map(compile); // compiled once, not at every evaluation
      return { ...r, test: (labels) => r.matchers.every((m, i) => tests[i]?.(labels[m.name] ?? '') === true) };
    });
    this.#loaded = true;
  }

  /** Every silence still listed, oldest first. */
  list(): SilenceRecord[] {
    return this.#held.map(({ test: _, ...r }) => r);
  }

  /** The silence `id`, if listed. */
  get(id: number): SilenceRecord | undefined {
    return this.list().find((s) => s.id === id);
  }

  /** Validates `input` (Alertmanager's postable silence) and stores it: its id, or every problem as `path: message`. */
  async add(input: unknown): Promise<{ ok: true; id: number } | { ok: false; problems: string[] }> {
    const reader = new IssueReader();
    const parsed = postable.safeParse(input, { error: reader.errorMap });
    if (!parsed.success) return { ok: false, problems: formatProblems(reader.problems(parsed.error.issues, input, '(body)')) };
    const now = this.#now();
    const s = parsed.data;
    const startsAt = s.startsAt ?? now;
    const endsAt = s.endsAt ?? startsAt + (s.duration as number);
    if (endsAt <= Math.max(startsAt, now)) return { ok: false, problems: ['endsAt: must be after startsAt and in the future'] };
    const id = await this.#store.addSilence({
      matchers: s.matchers,
      startsAt,
      endsAt,
      createdAt: now,
      createdBy: s.createdBy,
      comment: s.comment,
    });
    await this.load();
    return { ok: true, id };
  }

  /** Expires silence `id` now (Alertmanager's DELETE); false when there is none. */
  async expire(id: number): Promise<boolean> {
    const found = await this.#store.expireSilence(id, this.#now());
    if (found) await this.load();
    return found;
  }

  /** The silencer for the evaluator: `silence:<id>` of every active silence matching an alert's labels. */
  readonly silencer: Silencer = (labels, now) => {
    if (!this.#loaded) this.#retry();
    return this.#held.filter((s) => silenceState(s, now) === 'active' && s.test(labels)).map((s) => `silence:${s.id}`);
  };

  #retry(): void {
    this.#loading ??= this.load()
      .catch((error: unknown) => this.#onError?.(error))
      .finally(() => {
        this.#loading = undefined;
      });
  }
}
