// A real OpenID Connect provider for palisade's single sign-on tests.
//
// Listens on 127.0.0.1 on a free port (or $PORT), prints
// "issuer http://127.0.0.1:PORT" once ready, and serves one static
// confidential client whose redirect URI is $REDIRECT_URI. Sign-in uses
// oidc-provider's development interactions: any password is accepted for
// the users below, and the consent page has one "Continue" button. Users
// with `amr`/`acr` below sign in as if the provider had checked a second
// factor. The client may sign users out here too (RP-initiated logout),
// returning to the console's /login.
import http from 'node:http';
import Provider from 'oidc-provider';

// Notices after the issuer line must not kill the provider if no one reads them.
process.stdout.on('error', () => {});

const users = {
  alice: { email: 'alice@example.com', preferred_username: 'alice', groups: ['sec-team', 'eng'] },
  bob: { email: 'bob@example.com', preferred_username: 'bob', groups: ['eng'] },
  auditor1: { email: 'aud@example.com', preferred_username: 'auditor1', groups: ['audit'] },
  mallory: { email: 'mallory@example.com', preferred_username: 'mallory', groups: ['marketing'] },
  erin: { email: 'erin@example.com', preferred_username: 'erin', groups: ['eng'], amr: ['pwd', 'otp'] },
  frank: { email: 'frank@example.com', preferred_username: 'frank', groups: ['eng'], acr: 'urn:palisade:test:mfa' },
};

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.CLIENT_ID || 'palisade',
      client_secret: process.env.CLIENT_SECRET || 'palisade-test-secret',
      redirect_uris: [process.env.REDIRECT_URI],
      post_logout_redirect_uris: [new URL('/login', process.env.REDIRECT_URI).href],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username'],
      groups: ['groups'],
    },
    // Scope claims in the ID token itself, as most enterprise providers do.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    acrValues: ['urn:palisade:test:mfa'],
    cookies: { keys: ['palisade-test-cookie-key'] },
    async findAccount(ctx, id) {
      const user = users[id];
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() {
          const { amr, acr, ...claims } = user;
          return { sub: id, email_verified: true, ...claims };
        },
      };
    },
  });
  // The development sign-in form knows no second factor: record the
  // users' authentication methods as a real provider would after MFA.
  const finished = provider.interactionFinished.bind(provider);
  provider.interactionFinished = (req, res, result, options) => {
    const user = result?.login && users[result.login.accountId];
    if (user?.amr) result.login.amr = user.amr;
    if (user?.acr) result.login.acr = user.acr;
    return finished(req, res, result, options);
  };
  // Quiet: the test reads stdout for the issuer line only.
  provider.on('server_error', (ctx, err) => console.error('server_error', err.message));
  server.on('request', provider.callback());
  console.log(`issuer ${issuer}`);
});
