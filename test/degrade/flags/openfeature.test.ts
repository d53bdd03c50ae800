import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { FlagSet } from '../../../src/degrade/flags/flag-set.js';
import { NinesFlagProvider } from '../../../src/degrade/flags/openfeature.js';

afterEach(async () => {
  await OpenFeature.close();
});

function flagSet(): FlagSet {
  return new FlagSet({
    flags: {
      everyone: {},
      killed: { enabled: false },
      pro: { rules: [{ when: [{ attribute: 'plan', operator: 'IN', values: ['pro'] }] }] },
      half: { rules: [{ rollout: 50 }] },
      button: {
        variants: [
          { name: 'green', weight: 1, payload: { type: 'string', value: '#0f0' } },
          { name: 'red', weight: 0, payload: { type: 'string', value: '#f00' } },
        ],
      },
      limit: { variants: [{ name: 'ten', payload: { type: 'number', value: '10' } }] },
      config: { variants: [{ name: 'v1', payload: { type: 'json', value: { retries: 3 } } }] },
      named: { variants: [{ name: 'only-a-name' }] },
    },
  });
}

describe('NinesFlagProvider through the OpenFeature SDK', () => {
  it('boolean flags with reasons and variants', async () => {
    await OpenFeature.setProviderAndWait(new NinesFlagProvider(flagSet()));
    const client = OpenFeature.getClient();
    expect(await client.getBooleanValue('everyone', false)).toBe(true);
    expect(await client.getBooleanDetails('everyone', false)).toMatchObject({ value: true, reason: 'STATIC', variant: 'on' });
    expect(await client.getBooleanDetails('killed', true)).toMatchObject({ value: false, reason: 'DISABLED', variant: 'off' });
    expect(await client.getBooleanDetails('pro', false, { plan: 'pro' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(await client.getBooleanDetails('pro', true, { plan: 'free' })).toMatchObject({ value: false, reason: 'DEFAULT' });
    // targetingKey is the sticky key: the same answer as userId
    const keys = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const on = keys.find((k) => flagSet().isEnabled('half', { userId: k })) ?? '';
    const off = keys.find((k) => !flagSet().isEnabled('half', { userId: k })) ?? '';
    expect(await client.getBooleanDetails('half', false, { targetingKey: on })).toMatchObject({ value: true, reason: 'SPLIT' });
    expect(await client.getBooleanDetails('half', true, { targetingKey: off })).toMatchObject({ value: false, reason: 'DEFAULT' });
    const unknown = await client.getBooleanDetails('nope', true);
    expect(unknown).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
  });

  it('string, number and object values from the variant payload', async () => {
    await OpenFeature.setProviderAndWait(new NinesFlagProvider(flagSet()));
    const client = OpenFeature.getClient();
    expect(await client.getStringDetails('button', '#000')).toMatchObject({ value: '#0f0', variant: 'green', reason: 'SPLIT' });
    expect(await client.getStringValue('named', 'x')).toBe('only-a-name');
    expect(await client.getStringDetails('everyone', 'fallback')).toMatchObject({ value: 'fallback', reason: 'DEFAULT' });
    expect(await client.getStringDetails('killed', 'fallback')).toMatchObject({ value: 'fallback', reason: 'DISABLED' });
    expect(await client.getNumberDetails('limit', 1)).toMatchObject({ value: 10, variant: 'ten' });
    expect(await client.getNumberDetails('button', 1)).toMatchObject({ value: 1, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(await client.getObjectValue('config', {})).toEqual({ retries: 3 });
    expect(await client.getObjectDetails('limit', {})).toMatchObject({ value: {}, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
  });

  it('a flag change reaches OpenFeature handlers as PROVIDER_CONFIGURATION_CHANGED', async () => {
    const flags = flagSet();
    await OpenFeature.setProviderAndWait(new NinesFlagProvider(flags));
    const client = OpenFeature.getClient();
    const changed = new Promise<string[] | undefined>((resolve) => {
      client.addHandler(ProviderEvents.ConfigurationChanged, (details) => resolve(details?.flagsChanged));
    });
    flags.set('killed', {});
    expect(await changed).toEqual(['killed']);
    expect(await client.getBooleanValue('killed', false)).toBe(true);
  });
});
