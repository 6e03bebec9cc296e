// Runs the graphql-http audit suite (GraphQL over HTTP spec) against a running Lianbao.
// Usage: node audit.mjs <url> <token>; prints the results as JSON on stdout.
import { createRequire } from 'node:module';

const require = createRequire(process.env.GRAPHQL_HTTP_DIR + '/');
const { auditServer } = require('graphql-http');

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
process.stdout.write(JSON.stringify(results.map(r => ({
  id: r.id, name: r.name, status: r.status, reason: r.reason ?? null,
}))));
