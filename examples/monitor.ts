// `npm start`: the demo service on 127.0.0.1:4001 and `nines serve --config examples/nines.yaml`
// watching it, itself, and the local PostgreSQL and Redis. Ctrl-C stops both gracefully.
import { serve } from '../src/cli/serve.js';
import { startDemoService } from './demo-service.js';

const demo = await startDemoService();
demo.unref(); // the monitor decides when the process ends
const code = await serve({ config: new URL('./nines.yaml', import.meta.url).pathname });
if (code !== undefined) process.exit(code);
