/** The one-way dependency rule of docs/architecture.md, enforced in `npm test`. */
const library = '^src/(core|policy|ratelimit|health|lifecycle|degrade|failover|metrics)/';
module.exports = {
  forbidden: [
    {
      name: 'library-imports-service',
      comment: 'Library modules never import the monitor, the server or the CLI.',
      severity: 'error',
      from: { path: library },
      to: { path: '^src/(monitor|server|cli|alerts|backup|notify|config|web)/' },
    },
    {
      name: 'alerts-and-notify-below-server',
      comment: "src/alerts evaluates rules on the monitor's figures; the server and the CLI use it, never the other way round.",
      severity: 'error',
      from: { path: '^src/(alerts|notify)/' },
      to: { path: '^src/(server|cli)/' },
    },
    {
      name: 'core-imports-nothing',
      comment: 'src/core is what every module uses: it imports only node: built-ins and its own files.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'core-has-no-runtime-deps',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'policy-imports-only-core',
      comment: 'src/policy holds the policies; what they share with other modules lives in src/core.',
      severity: 'error',
      from: { path: '^src/policy/' },
      to: { path: '^src/', pathNot: '^src/(policy|core)/' },
    },
    {
      name: 'health-and-lifecycle-apart',
      comment: 'The probe reads shutdown state through a structural interface, so neither module loads the other.',
      severity: 'error',
      from: { path: '^src/(health|lifecycle)/' },
      to: { path: '^src/(health|lifecycle)/', pathNot: '^src/$1/' },
    },
    {
      name: 'server-reads-through-history',
      comment:
        'Every figure, record and page the server shows comes through monitor/history.ts (design.md §3: one number on every surface).',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/monitor/store/' },
    },
    {
      name: 'policy-has-no-runtime-deps',
      comment: 'src/policy is dependency-free: only node: built-ins and its own files.',
      severity: 'error',
      from: { path: '^src/policy/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'sql-drivers-only-in-backends',
      comment: 'pg and better-sqlite3 are imported only by the folders that use them, so a breaker user pulls in no driver.',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: '^src/(monitor/store/(sqlite|postgres)|health/checks|backup/(postgres|sqlite)|degrade/stores/postgres|monitor/ha)/',
      },
      to: { path: 'node_modules/(pg|better-sqlite3)/' },
    },
    {
      name: 'redis-driver-only-in-backends',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(ratelimit/stores/redis|degrade/fallback/stores/redis|health/checks)/' },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'kubernetes-client-only-in-its-provider',
      comment:
        'An optional peer dependency: only the Kubernetes discovery provider loads it (dynamically), so nines/failover works without it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/failover/discovery/kubernetes[.]ts$' },
      to: { path: 'node_modules/@kubernetes/client-node/' },
    },
    {
      name: 'kysely-only-in-the-store',
      comment: 'SQL lives behind the Store interface.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/monitor/store/' },
      to: { path: 'node_modules/kysely/' },
    },
    {
      name: 'no-circular',
      comment: 'Runtime import cycles; type-only cycles vanish at build time.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
  },
};
