// A small HTTP service that fails now and then, so a newcomer watching it sees incidents form and
// resolve: every 90 s it has a 20 s outage (503), and now and then a slow answer.
import { createServer, type Server } from 'node:http';

/** Starts the demo service on `port`; its /health answers 200 `{"status":"UP"}` except during its outages. */
export function startDemoService(port = 4001, host = '127.0.0.1'): Promise<Server> {
  const started = Date.now();
  const server = createServer((req, res) => {
    if (req.url !== '/health') {
      res.writeHead(404).end();
      return;
    }
    const second = Math.floor((Date.now() - started) / 1000) % 90;
    const down = second >= 60 && second < 80;
    const delay = Math.random() < 0.05 ? 700 : 5;
    setTimeout(() => {
      res.writeHead(down ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: down ? 'DOWN' : 'UP' }));
    }, delay);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
