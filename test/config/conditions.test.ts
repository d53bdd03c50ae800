import { describe, expect, it } from 'vitest';
import { type ConditionContext, ConditionSyntaxError, evaluateConditions, parseCondition } from '../../src/config/conditions.js';

const check = (condition: string, context: ConditionContext) => evaluateConditions([parseCondition(condition)], context);
const holds = (condition: string, context: ConditionContext) => check(condition, context).ok;

describe('parseCondition', () => {
  it('parses each placeholder, operator and function into an AST', () => {
    expect(parseCondition('[STATUS] == 200')).toMatchObject({
      left: { kind: 'placeholder', name: 'STATUS', path: [] },
      operator: '==',
      right: { kind: 'literal', value: '200' },
    });
    expect(parseCondition('[BODY].data.items[0].id != 3').left).toMatchObject({ name: 'BODY', path: ['data', 'items', 0, 'id'] });
    expect(parseCondition('[RESPONSE_TIME] < 300ms').right).toMatchObject({ kind: 'literal', ms: 300 });
    expect(parseCondition('[CERTIFICATE_EXPIRATION] > 7d').right).toMatchObject({ ms: 604_800_000 });
    expect(parseCondition('len([BODY].items) >= 1').left).toMatchObject({ kind: 'len', arg: { name: 'BODY', path: ['items'] } });
    expect(parseCondition('any([STATUS], 200, 201)')).toMatchObject({ left: { name: 'STATUS' }, operator: '==', right: { kind: 'any' } });
    expect(parseCondition('[STATUS] == any(200, 204)').right).toMatchObject({ kind: 'any', values: [{ value: '200' }, { value: '204' }] });
    expect(parseCondition('[BODY] == pat(*UP*)').right).toEqual({ kind: 'pat', pattern: '*UP*', end: 19 });
    expect(parseCondition('[CONNECTED]')).toMatchObject({ operator: '==', right: { value: 'true' } });
    expect(parseCondition('has([BODY].errors) == false').left).toMatchObject({ kind: 'has' });
    expect(parseCondition('[BODY].message == "all good, really"').right).toMatchObject({ value: 'all good, really' });
    expect(parseCondition('[BODY].message == all good').right).toMatchObject({ value: 'all good' });
    for (const op of ['==', '!=', '<', '<=', '>', '>=']) expect(parseCondition(`[STATUS] ${op} 200`).operator).toBe(op);
    expect(parseCondition('[STATUS]<=299').operator).toBe('<=');
  });

  it('rejects bad conditions with a readable message and the 1-based column', () => {
    const cases: [string, string, number][] = [
      ['', 'empty condition', 1],
      ['[STATU] == 200', 'unknown placeholder [STATU]', 1],
      ['[STATUS] = 200', 'expected an operator', 10],
      ['[STATUS]', 'expected an operator', 9],
      ['[STATUS] ==', 'expected a value after ==', 12],
      ['[STATUS] == abc', 'expected a number to compare with [STATUS]', 13],
      ['[RESPONSE_TIME] < fast', 'expected a duration like 300ms or 7d', 19],
      ['[CONNECTED] == yes', 'expected true or false', 16],
      ['[DNS_RCODE] == OK', 'expected a DNS rcode', 16],
      ['[IP] < 3', '< needs numbers; [IP] is not one', 6],
      ['len([BODY].items > 0', 'expected )', 18],
      ['len(3) > 0', 'len() takes a placeholder', 5],
      ['foo(1) == 2', 'unknown function foo()', 1],
      ['[STATUS].x == 1', 'only [BODY] takes a path', 9],
      ['[BODY].a. == 1', 'expected a key after .', 10],
      ['[BODY][x] == 1', 'expected an array index like [0]', 7],
      ['any(200, 201)', 'any(…) needs a placeholder first', 5],
      ['any([STATUS])', 'needs at least one value', 13],
      ['[STATUS] < any(200, 201)', 'any(…) works only with == and !=', 10],
      ['[BODY] == "open', 'unterminated quoted value', 11],
      ['[STATUS] == 200 [BODY]', 'expected a number', 13],
    ];
    for (const [text, message, column] of cases) {
      let error: unknown;
      try {
        parseCondition(text);
      } catch (caught) {
        error = caught;
      }
      expect(error, text).toBeInstanceOf(ConditionSyntaxError);
      const syntax = error as ConditionSyntaxError;
      expect(syntax.message, text).toContain(message);
      expect(syntax.column, text).toBe(column);
      expect(syntax.message, text).toMatch(new RegExp(`at column ${column}$`));
    }
  });
});

describe('evaluateConditions', () => {
  it('[STATUS] with every operator', () => {
    const ctx = { status: 200 };
    expect(holds('[STATUS] == 200', ctx)).toBe(true);
    expect(holds('[STATUS] != 200', ctx)).toBe(false);
    expect(holds('[STATUS] < 300', ctx)).toBe(true);
    expect(holds('[STATUS] <= 200', ctx)).toBe(true);
    expect(holds('[STATUS] > 200', ctx)).toBe(false);
    expect(holds('[STATUS] >= 201', ctx)).toBe(false);
  });

  it('[RESPONSE_TIME] and [CERTIFICATE_EXPIRATION] compare in ms with durations or numbers', () => {
    expect(holds('[RESPONSE_TIME] < 300ms', { responseTimeMs: 120 })).toBe(true);
    expect(holds('[RESPONSE_TIME] < 300', { responseTimeMs: 320 })).toBe(false);
    expect(holds('[RESPONSE_TIME] <= 1s', { responseTimeMs: 1000 })).toBe(true);
    expect(holds('[CERTIFICATE_EXPIRATION] > 7d', { certificateExpirationMs: 30 * 86_400_000 })).toBe(true);
    expect(holds('[CERTIFICATE_EXPIRATION] > 7d', { certificateExpirationMs: 86_400_000 })).toBe(false);
  });

  it('[BODY] raw, with paths into JSON, and numbers inside JSON', () => {
    const body = JSON.stringify({ status: 'UP', count: 3, items: [{ id: 'a' }, { id: 'b' }], nested: { ok: true } });
    expect(holds('[BODY].status == UP', { body })).toBe(true);
    expect(holds('[BODY].count == 3', { body })).toBe(true);
    expect(holds('[BODY].count > 2', { body })).toBe(true);
    expect(holds('[BODY].items[1].id == b', { body })).toBe(true);
    expect(holds('[BODY].nested.ok == true', { body })).toBe(true);
    expect(holds('[BODY] == pong', { body: 'pong' })).toBe(true);
    expect(holds('[BODY].status > 1', { body })).toBe(false); // not a number
    expect(holds('[BODY].status == UP', { body: 'not json' })).toBe(false);
  });

  it('[CONNECTED], [IP] and [DNS_RCODE]', () => {
    expect(holds('[CONNECTED]', { connected: true })).toBe(true);
    expect(holds('[CONNECTED] == false', { connected: false })).toBe(true);
    expect(holds('[CONNECTED]', { connected: false })).toBe(false);
    expect(holds('[IP] == 127.0.0.1', { ip: '127.0.0.1' })).toBe(true);
    expect(holds('[IP] == pat(10.*)', { ip: '10.1.2.3' })).toBe(true);
    expect(holds('[DNS_RCODE] == NOERROR', { dnsRcode: 'NOERROR' })).toBe(true);
    expect(holds('[DNS_RCODE] != NXDOMAIN', { dnsRcode: 'NXDOMAIN' })).toBe(false);
  });

  it('len(), has(), any() and pat()', () => {
    const body = JSON.stringify({ items: [1, 2], name: 'abc', map: { a: 1 }, empty: [] });
    expect(holds('len([BODY].items) == 2', { body })).toBe(true);
    expect(holds('len([BODY].name) == 3', { body })).toBe(true);
    expect(holds('len([BODY].map) == 1', { body })).toBe(true);
    expect(holds('len([BODY].empty) > 0', { body })).toBe(false);
    expect(holds('len([BODY]) == 4', { body: 'pong' })).toBe(true);
    expect(holds('has([BODY].items)', { body })).toBe(true);
    expect(holds('has([BODY].errors) == false', { body })).toBe(true);
    expect(holds('any([STATUS], 200, 201)', { status: 201 })).toBe(true);
    expect(holds('any([STATUS], 200, 201)', { status: 204 })).toBe(false);
    expect(holds('[STATUS] != any(500, 503)', { status: 200 })).toBe(true);
    expect(holds('[BODY] == pat(*"UP"*)', { body: '{"status":"UP"}' })).toBe(true);
    expect(holds('[BODY] != pat(*error*)', { body: 'fine' })).toBe(true);
    expect(holds('[BODY] == pat(a.c)', { body: 'abc' })).toBe(false); // only * is special
  });

  it('fails a condition whose value the run did not provide', () => {
    expect(holds('[STATUS] == 200', {})).toBe(false);
    expect(holds('[STATUS] != 200', {})).toBe(false);
    expect(holds('[BODY].missing != x', { body: '{}' })).toBe(false);
  });

  it('renders each failed condition with its actual values, and passes when all hold', () => {
    const conditions = [
      '[STATUS] == 200',
      '[RESPONSE_TIME] < 300ms',
      '[BODY].status == UP',
      'len([BODY].items) > 0',
      'any([STATUS], 200, 201)',
      '[CERTIFICATE_EXPIRATION] > 7d',
      'has([BODY].items[0].id)',
      '[BODY].items[0].id != 3',
      '[CONNECTED]',
      '[IP] == 10.0.0.1',
    ].map(parseCondition);
    const bad = evaluateConditions(conditions, {
      status: 503,
      responseTimeMs: 412,
      body: '{"status":"DOWN","items":[]}',
      certificateExpirationMs: 3 * 86_400_000 + 3_600_000,
      connected: false,
    });
    expect(bad).toEqual({
      ok: false,
      failed: [
        '[STATUS] (503) == 200',
        '[RESPONSE_TIME] (412ms) < 300ms',
        '[BODY].status (DOWN) == UP',
        'len([BODY].items) (0) > 0',
        'any([STATUS] (503), 200, 201)',
        '[CERTIFICATE_EXPIRATION] (3d1h) > 7d',
        'has([BODY].items[0].id) (false)',
        '[BODY].items[0].id (missing) != 3',
        '[CONNECTED] (false)',
        '[IP] (missing) == 10.0.0.1',
      ],
    });
    const good = evaluateConditions(conditions, {
      status: 200,
      responseTimeMs: 12,
      body: '{"status":"UP","items":[{"id":4}]}',
      certificateExpirationMs: 30 * 86_400_000,
      connected: true,
      ip: '10.0.0.1',
    });
    expect(good).toEqual({ ok: true, failed: [] });
  });

  it('says when the body is not JSON, truncates long values, and accepts condition text', () => {
    expect(evaluateConditions(['[BODY].a == 1'], { body: '<html>' }).failed).toEqual(['[BODY].a (body is not JSON) == 1']);
    const [line] = evaluateConditions(['[BODY] == ok'], { body: 'x'.repeat(500) }).failed;
    expect(line).toBe(`[BODY] (${'x'.repeat(80)}…) == ok`);
  });

  it('parses the body once per evaluation, lazily', () => {
    let reads = 0;
    const context = {
      get body() {
        reads++;
        return '{"a":1,"b":2}';
      },
    };
    evaluateConditions(['[BODY].a == 1', '[BODY].b == 2', 'len([BODY].a) == 1'], context);
    expect(reads).toBe(1);
    reads = 0;
    evaluateConditions(['[STATUS] == 200'], context);
    expect(reads).toBe(0);
  });
});
