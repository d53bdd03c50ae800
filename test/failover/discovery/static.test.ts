import { describe, expect, it } from 'vitest';
import type { DiscoveredEndpoint } from '../../../src/failover/index.js';
import { staticDiscovery } from '../../../src/failover/index.js';

describe('staticDiscovery', () => {
  it('reports its list once, normalised', async () => {
    const updates: (readonly DiscoveredEndpoint[])[] = [];
    const d = staticDiscovery(['http://10.0.0.1:8080/', { origin: 'https://10.0.0.2', weight: 2, zone: 'a' }]);
    await d.start((list) => updates.push(list));
    expect(updates).toEqual([[{ origin: 'http://10.0.0.1:8080' }, { origin: 'https://10.0.0.2', weight: 2, zone: 'a' }]]);
    await d.close();
  });

  it('names the bad entry', () => {
    expect(() => staticDiscovery([])).toThrow(/endpoints must be a non-empty array/);
    expect(() => staticDiscovery(['http://a:1', 'nope'])).toThrow(/^endpoints\[1\] must be an http\(s\) origin/);
    expect(() => staticDiscovery([{ origin: 'ftp://a' }])).toThrow(/^endpoints\[0\]\.origin must use http or https/);
    expect(() => staticDiscovery([{ origin: 'http://a', weight: 0 }])).toThrow(/^endpoints\[0\]\.weight/);
  });
});
