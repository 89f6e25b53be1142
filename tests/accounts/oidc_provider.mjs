// A real OpenID Provider for the tests: the OpenID-certified `oidc-provider` package, configured
// by the JSON file named on the command line:
//
//   {"clients": [{"client_id": ..., "client_secret": ..., "redirect_uris": [...]}],
//    "accounts": {"<login>": {"email": ..., "email_verified": true, "name": ...}},
//    "conform_id_token_claims": true}
//
// It listens on 127.0.0.1 on a port the system picks, over plain http (fine for a loopback
// issuer; oidc-provider only warns), and prints one JSON line {"issuer": "http://127.0.0.1:N"}
// once it answers. Sign-in uses the package's development interactions: a login form that takes
// any password for the logins listed in "accounts", then a consent page.
import fs from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts || {};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...client,
    })),
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // true (the package's default): in the code flow the ID token carries no profile claims
    // and the client reads them from the UserInfo endpoint; false puts them in the ID token.
    conformIdTokenClaims: config.conform_id_token_claims ?? true,
    async findAccount(ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...account }; } };
    },
    // Every client must send a PKCE challenge (S256 is the only method the package accepts).
    pkce: { required: () => true },
    cookies: { keys: ['portfolio-tests-only-cookie-key'] },
    features: { devInteractions: { enabled: true } },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
