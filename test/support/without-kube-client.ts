// Child process of the kubernetes discovery test: loads nines/failover (the source) as if
// @kubernetes/client-node were not installed, and prints what kubernetesDiscovery's start() says.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('@kubernetes/')) {
      const error = new Error(`Cannot find package '${specifier}'`) as Error & { code: string };
      error.code = 'ERR_MODULE_NOT_FOUND';
      throw error;
    }
    return next(specifier, context);
  },
});

const failover = await import(process.argv[2] as string);
const discovery = failover.kubernetesDiscovery({ service: 'api', namespace: 'shop' });
const error = await discovery
  .start(() => {})
  .then(
    () => undefined,
    (e: { code?: string; message?: string }) => e,
  );
process.stdout.write(JSON.stringify({ dispatcher: typeof failover.FailoverDispatcher, code: error?.code, message: error?.message }));
