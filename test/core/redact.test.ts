import { describe, expect, it } from 'vitest';
import { redactText } from '../../src/core/redact.js';
import { redactUrl } from '../../src/health/checks/index.js';

describe('redactUrl', () => {
  it('hides the password, keeps the rest', () => {
    expect(redactUrl('postgres://app:s3cr%40t@db.internal:5432/orders?sslmode=require')).toBe(
      'postgres://app:***@db.internal:5432/orders?sslmode=require',
    );
    expect(redactUrl(new URL('redis://:secret@127.0.0.1:6379/1'))).toBe('redis://:***@127.0.0.1:6379/1');
  });

  it('hides secret-looking query parameters', () => {
    expect(redactUrl('postgres://db/x?password=hunter22&sslpassword=abcd&application_name=a')).toBe(
      'postgres://db/x?password=***&sslpassword=***&application_name=a',
    );
    expect(redactUrl('https://api.example.com/health?token=abc123&v=1')).toBe('https://api.example.com/health?token=***&v=1');
  });

  it('leaves a URL without secrets as it is', () => {
    expect(redactUrl('http://example.com/health')).toBe('http://example.com/health');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('still hides the password of a string that does not parse', () => {
    expect(redactUrl('postgres://app:hunter22@[bad/db')).toBe('postgres://app:***@[bad/db');
  });
});

describe('redactText', () => {
  it('hides URL passwords anywhere in a message, and the given secrets', () => {
    expect(redactText('could not reach postgres://app:hunter22@db:5432/x (timeout)')).toBe(
      'could not reach postgres://app:***@db:5432/x (timeout)',
    );
    expect(redactText('AUTH hunter22 refused', ['hunter22'])).toBe('AUTH *** refused');
    expect(redactText('user "a" failed', ['a'])).toBe('user "a" failed'); // too short to be worth garbling
  });
});
