// Bearing's local development OpenID provider. DEVELOPMENT ONLY: never run this in production.
//
// A real `oidc-provider` (OpenID Certified) instance with demo users from users.json, a small
// server-rendered login page (no JavaScript, so it works under a strict CSP), automatic consent
// for the registered first-party clients, PKCE (S256) required for every client, RS256 ID
// tokens signed with a key generated at startup (or read from DEVIDP_JWKS_FILE), and two
// machine clients that get JWT access tokens for Bearing with the client-credentials grant
// (producers of delivery events, issue 13). All state lives in memory.
//
//   node devidp/server.mjs
//
// Configuration (environment variables, all optional): see README.md beside this file.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

const here = path.dirname(fileURLToPath(import.meta.url));

// Every demo user's password for the username/password form.
const DEMO_PASSWORD = 'bearing';
const TITLE = 'Bearing dev identity provider';

function list(value, fallback) {
  const items = (value ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new Error(`empty list (default ${fallback})`);
  return items;
}

function positiveInt(name, value, fallback) {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`${name} must be a positive integer number of seconds, got ${JSON.stringify(value)}`);
  }
  return n;
}

const env = process.env;
const ISSUER = (env.DEVIDP_ISSUER || 'http://127.0.0.1:4010').replace(/\/+$/, '');
const issuerUrl = new URL(ISSUER);
if (issuerUrl.pathname !== '/' || issuerUrl.search || issuerUrl.hash) {
  throw new Error(`DEVIDP_ISSUER must be an origin without a path (scheme://host:port), got ${ISSUER}`);
}
if (issuerUrl.protocol !== 'http:') {
  throw new Error(`DEVIDP_ISSUER must use http: (this dev server does not terminate TLS), got ${ISSUER}`);
}
const HOST = issuerUrl.hostname.replace(/^\[(.*)\]$/, '$1');
const PORT = Number(issuerUrl.port || 80);

const CLIENT_ID = env.DEVIDP_CLIENT_ID || 'bearing-dev';
const CLIENT_SECRET = env.DEVIDP_CLIENT_SECRET || 'bearing-dev-secret';
const REDIRECT_URIS = list(env.DEVIDP_REDIRECT_URIS, 'http://127.0.0.1:3000/auth/callback');
const POST_LOGOUT_REDIRECT_URIS = list(env.DEVIDP_POST_LOGOUT_REDIRECT_URIS, 'http://127.0.0.1:3000/');
const ID_TOKEN_TTL = positiveInt('DEVIDP_ID_TOKEN_TTL', env.DEVIDP_ID_TOKEN_TTL, 3600);
const USERS_FILE = path.resolve(env.DEVIDP_USERS || path.join(here, 'users.json'));

const OTHER_CLIENT_ID = 'other-client';
const OTHER_CLIENT_SECRET = 'other-secret';
if (CLIENT_ID === OTHER_CLIENT_ID) {
  throw new Error(`DEVIDP_CLIENT_ID must differ from the built-in second client ${OTHER_CLIENT_ID}`);
}

// Machines (client-credentials grant only): `luigi-orders` reports the demo's orders-etl
// pipeline; `other-machine` is a valid client Bearing is not told about (tests use it to get a
// real token from a client Bearing must refuse).
const MACHINE_CLIENT_ID = env.DEVIDP_MACHINE_CLIENT_ID || 'luigi-orders';
const MACHINE_CLIENT_SECRET = env.DEVIDP_MACHINE_CLIENT_SECRET || 'luigi-orders-secret';
const OTHER_MACHINE_ID = 'other-machine';
const OTHER_MACHINE_SECRET = 'other-machine-secret';
if ([CLIENT_ID, OTHER_CLIENT_ID, OTHER_MACHINE_ID].includes(MACHINE_CLIENT_ID)) {
  throw new Error(`DEVIDP_MACHINE_CLIENT_ID must differ from the other clients, got ${MACHINE_CLIENT_ID}`);
}
// The resource (audience) machine tokens are for: Bearing's --producer-audience, which defaults
// to its public URL. A token request may name it as `resource`, or leave it out.
const PRODUCER_AUDIENCE = env.DEVIDP_PRODUCER_AUDIENCE || 'http://127.0.0.1:3000';
if (!URL.canParse(PRODUCER_AUDIENCE)) {
  throw new Error(`DEVIDP_PRODUCER_AUDIENCE must be an absolute URI, got ${PRODUCER_AUDIENCE}`);
}
const MACHINE_TOKEN_TTL = positiveInt('DEVIDP_MACHINE_TOKEN_TTL', env.DEVIDP_MACHINE_TOKEN_TTL, 3600);
const MACHINE_SCOPE = 'lineage:write';
const JWKS_FILE = env.DEVIDP_JWKS_FILE ? path.resolve(env.DEVIDP_JWKS_FILE) : undefined;

// ---------------------------------------------------------------------------------------------
// Users

function loadUsers(file) {
  let raw;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read users file ${file}: ${err.message}`);
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new Error(`${file}: expected a non-empty JSON array`);
  const byLogin = new Map();
  const bySub = new Map();
  for (const [i, u] of raw.entries()) {
    const where = `${file}[${i}]`;
    for (const key of ['login', 'sub', 'name', 'email', 'role_hint']) {
      if (typeof u?.[key] !== 'string' || u[key] === '') throw new Error(`${where}: "${key}" must be a non-empty string`);
    }
    if (!Array.isArray(u.groups) || !u.groups.every((g) => typeof g === 'string')) {
      throw new Error(`${where}: "groups" must be an array of strings`);
    }
    if (u.email_verified !== undefined && typeof u.email_verified !== 'boolean') {
      throw new Error(`${where}: "email_verified" must be true or false (default true)`);
    }
    if (u.login !== u.login.toLowerCase().trim()) throw new Error(`${where}: login must be lowercase without spaces`);
    if (byLogin.has(u.login)) throw new Error(`${where}: duplicate login ${u.login}`);
    if (bySub.has(u.sub)) throw new Error(`${where}: duplicate sub ${u.sub}`);
    const user = {
      login: u.login, sub: u.sub, name: u.name, email: u.email, email_verified: u.email_verified ?? true,
      groups: [...u.groups], role_hint: u.role_hint,
    };
    byLogin.set(user.login, user);
    bySub.set(user.sub, user);
  }
  return { all: [...byLogin.values()], byLogin, bySub };
}

const users = loadUsers(USERS_FILE);

function findUserByLogin(login) {
  if (typeof login !== 'string') return undefined;
  return users.byLogin.get(login.trim().toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// HTML helpers

function esc(value) {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
  body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330;margin:0;padding:2rem 1rem}
  main{max-width:34rem;margin:0 auto;background:#fff;border:1px solid #d8dbe2;border-radius:8px;padding:1.5rem 2rem}
  h1{font-size:1.35rem;margin:0 0 .25rem}
  p.note{color:#5a6272;margin:.25rem 0 1rem;font-size:.9rem}
  h2{font-size:1rem;margin:1.5rem 0 .5rem}
  ul{list-style:none;margin:0;padding:0}
  li{margin:.35rem 0}
  button{font:inherit;cursor:pointer;border:1px solid #2f5bd3;background:#2f5bd3;color:#fff;border-radius:6px;padding:.45rem .8rem}
  ul button{width:100%;text-align:left;background:#fff;color:#1d2330;border-color:#c3c8d4}
  ul button:hover,ul button:focus{border-color:#2f5bd3;background:#eef2fd}
  button.secondary{background:#fff;color:#5a6272;border-color:#c3c8d4}
  label{display:block;margin:.6rem 0 .2rem;font-weight:600;font-size:.9rem}
  input[type=text],input[type=password]{font:inherit;width:100%;box-sizing:border-box;padding:.4rem .5rem;border:1px solid #c3c8d4;border-radius:6px}
  .actions{margin-top:1rem;display:flex;gap:.5rem}
  .error{background:#fdecec;border:1px solid #e5a4a4;color:#8a1f1f;border-radius:6px;padding:.5rem .75rem;margin:1rem 0}
  code{font-size:.85em}
`;

// Pages this server renders itself carry a strict CSP: no scripts at all, inline <style> only.
// (No form-action directive: browsers apply it to the redirects that follow a form POST, which
// here leave for the client's redirect_uri.)
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

function page(heading, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(TITLE)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${esc(heading)}</h1>
<p class="note">Local development identity provider for Bearing. Not for production use.</p>
${body}
</main>
</body>
</html>
`;
}

function sendHtml(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.end(html);
}

function loginPage({ uid, clientId, loginHint, error }) {
  const action = `/interaction/${encodeURIComponent(uid)}`;
  const buttons = users.all.map((u) => `    <li><button type="submit" name="login" value="${esc(u.login)}">Sign in as ${esc(u.name)} (${esc(u.role_hint)})</button></li>`).join('\n');
  return page(TITLE, `
<p>Signing in to <code>${esc(clientId)}</code>.</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<h2>Demo users</h2>
<form method="post" action="${esc(action)}">
  <input type="hidden" name="mode" value="pick">
  <ul>
${buttons}
  </ul>
</form>
<h2>Username and password</h2>
<form method="post" action="${esc(action)}">
  <input type="hidden" name="mode" value="password">
  <label for="login">Username</label>
  <input type="text" id="login" name="login" value="${esc(loginHint)}" autocomplete="username" autocapitalize="none" spellcheck="false" required>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required>
  <div class="actions"><button type="submit">Sign in</button></div>
</form>
<form method="post" action="${esc(action)}">
  <input type="hidden" name="mode" value="abort">
  <div class="actions"><button type="submit" class="secondary">Cancel</button></div>
</form>
`);
}

// ---------------------------------------------------------------------------------------------
// Provider

function rsaSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `devidp-${crypto.randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

// A fixed signing key set (private JWKs), e.g. so that tests can sign tokens the provider's
// /jwks vouches for; otherwise a new RS256 key at each start.
function signingKeys() {
  if (!JWKS_FILE) return [rsaSigningKey()];
  let keys;
  try {
    ({ keys } = JSON.parse(fs.readFileSync(JWKS_FILE, 'utf8')));
  } catch (err) {
    throw new Error(`cannot read DEVIDP_JWKS_FILE ${JWKS_FILE}: ${err.message}`);
  }
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => k && typeof k.d === 'string' && typeof k.kid === 'string')) {
    throw new Error(`${JWKS_FILE}: expected {"keys": [private JWKs, each with a kid]}`);
  }
  return keys;
}

function machineClient(clientId, clientSecret) {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    client_name: clientId,
    redirect_uris: [],
    response_types: [],
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

const MACHINES = new Set([MACHINE_CLIENT_ID, OTHER_MACHINE_ID]);

function client(clientId, clientSecret) {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    client_name: clientId,
    redirect_uris: REDIRECT_URIS,
    post_logout_redirect_uris: POST_LOGOUT_REDIRECT_URIS,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  };
}

const FIRST_PARTY = new Set([CLIENT_ID, OTHER_CLIENT_ID]);

// Grants every OIDC scope and claim the current authorization request asks for.
function grantRequested(ctx, grant) {
  const scopes = [...ctx.oidc.requestParamOIDCScopes];
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  const claims = [...ctx.oidc.requestParamClaims];
  if (claims.length) grant.addOIDCClaims(claims);
}

async function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', CSP);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = page('Sign out', `
${form}
<p>Sign out of the Bearing dev identity provider?</p>
<div class="actions">
  <button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
  <button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>
</div>
`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', CSP);
  ctx.body = page('Signed out', '<p>You are signed out of the Bearing dev identity provider.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', CSP);
  const rows = Object.entries(out).map(([k, v]) => `<p><strong>${esc(k)}</strong>: ${esc(v)}</p>`).join('\n');
  ctx.body = page('Something went wrong', `<div class="error">${rows}</div>`);
}

const provider = new Provider(ISSUER, {
  clients: [
    client(CLIENT_ID, CLIENT_SECRET),
    client(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET),
    machineClient(MACHINE_CLIENT_ID, MACHINE_CLIENT_SECRET),
    machineClient(OTHER_MACHINE_ID, OTHER_MACHINE_SECRET),
  ],
  jwks: { keys: signingKeys() },
  cookies: {
    names: {
      session: 'devidp_session',
      interaction: 'devidp_interaction',
      resume: 'devidp_resume',
      // oidc-provider 9 sets no "state" cookie (session management is gone); the name is kept
      // so that nothing the provider might set could ever be called by its default name.
      state: 'devidp_state',
    },
    keys: [crypto.randomBytes(32).toString('base64url')],
  },
  pkce: { required: () => true }, // oidc-provider 9 only supports S256
  conformIdTokenClaims: false,
  clockTolerance: 0,
  responseTypes: ['code'],
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  ttl: {
    IdToken: ID_TOKEN_TTL,
    AccessToken: 3600,
    AuthorizationCode: 60,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    clientCredentials: { enabled: true },
    // Machine tokens are JWTs (RFC 9068, `typ: at+jwt`) for one resource, Bearing: its audience
    // in `aud`, the machine in `client_id` (and `sub`), signed like the ID tokens.
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, c, oneOf) => (oneOf ?? (MACHINES.has(c?.clientId) ? PRODUCER_AUDIENCE : undefined)),
      getResourceServerInfo: async (ctx, resource, c) => {
        if (resource !== PRODUCER_AUDIENCE || !MACHINES.has(c.clientId)) {
          throw new errors.InvalidTarget(`only the machine clients get tokens, and only for ${PRODUCER_AUDIENCE}`);
        }
        return {
          scope: MACHINE_SCOPE,
          audience: PRODUCER_AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: MACHINE_TOKEN_TTL,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  interactions: {
    url: async (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  renderError,
  async findAccount(ctx, sub) {
    const user = users.bySub.get(sub);
    if (!user) return undefined;
    return {
      accountId: user.sub,
      async claims() {
        return {
          sub: user.sub,
          email: user.email,
          email_verified: user.email_verified,
          name: user.name,
          preferred_username: user.login,
          groups: [...user.groups],
        };
      },
    };
  },
  // Consent is automatic for the registered first-party clients: grant what they ask for.
  async loadExistingGrant(ctx) {
    const { client: c, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(c.clientId);
    let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (!FIRST_PARTY.has(c.clientId)) return grant;
    if (!grant || grant.accountId !== session.accountId) {
      grant = new ctx.oidc.provider.Grant({ clientId: c.clientId, accountId: session.accountId });
    }
    grantRequested(ctx, grant);
    await grant.save();
    return grant;
  },
});

// ---------------------------------------------------------------------------------------------
// Interaction pages

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function autoConsent(req, res, details) {
  const { prompt, params, session, grantId } = details;
  let grant = grantId ? await provider.Grant.find(grantId) : undefined;
  if (!grant) grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const d = prompt.details || {};
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const id = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: id } }, { mergeWithLastSubmission: true });
}

async function handleInteraction(req, res, uid) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      sendHtml(res, 400, page('Sign-in expired', '<p class="error">This sign-in has expired or was already used. Go back to Bearing and sign in again.</p>'));
      return;
    }
    throw err;
  }
  if (details.uid !== uid) {
    sendHtml(res, 400, page('Sign-in mismatch', '<p class="error">This sign-in page does not belong to the current sign-in. Go back to Bearing and sign in again.</p>'));
    return;
  }

  const { prompt, params } = details;
  const clientId = params.client_id;

  if (prompt.name === 'consent') {
    if (!FIRST_PARTY.has(clientId)) {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'unknown client' }, { mergeWithLastSubmission: false });
      return;
    }
    await autoConsent(req, res, details);
    return;
  }

  if (prompt.name !== 'login') {
    sendHtml(res, 400, page('Unsupported prompt', `<p class="error">Unsupported prompt ${esc(prompt.name)}.</p>`));
    return;
  }

  const loginHint = typeof params.login_hint === 'string' ? params.login_hint : '';

  if (req.method === 'GET' || req.method === 'HEAD') {
    sendHtml(res, 200, loginPage({ uid, clientId, loginHint }));
    return;
  }
  if (req.method !== 'POST') {
    res.statusCode = 405;
    res.setHeader('Allow', 'GET, POST');
    res.end();
    return;
  }

  const form = await readForm(req);
  const mode = form.get('mode');
  const login = form.get('login') ?? '';

  if (mode === 'abort') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    return;
  }

  let user;
  if (mode === 'pick') {
    user = findUserByLogin(login);
    if (!user) {
      sendHtml(res, 200, loginPage({ uid, clientId, loginHint, error: 'Unknown user' }));
      return;
    }
  } else if (mode === 'password') {
    user = findUserByLogin(login);
    const password = form.get('password') ?? '';
    const ok = user && crypto.timingSafeEqual(
      crypto.createHash('sha256').update(password).digest(),
      crypto.createHash('sha256').update(DEMO_PASSWORD).digest(),
    );
    if (!ok) {
      sendHtml(res, 200, loginPage({ uid, clientId, loginHint: login, error: 'Unknown user or wrong password' }));
      return;
    }
  } else {
    sendHtml(res, 400, loginPage({ uid, clientId, loginHint, error: 'Bad request' }));
    return;
  }

  await provider.interactionFinished(req, res, {
    login: { accountId: user.sub, amr: [mode === 'password' ? 'pwd' : 'dev'] },
  }, { mergeWithLastSubmission: false });
}

// ---------------------------------------------------------------------------------------------
// HTTP server

const providerCallback = provider.callback();
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)\/?$/;

const server = http.createServer(async (req, res) => {
  try {
    const { pathname } = new URL(req.url, ISSUER);
    if (pathname === '/dev/users' && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = JSON.stringify(users.all.map(({ login, name, email, groups, role_hint }) => ({
        login, name, email, groups, role_hint,
      })), null, 2);
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const m = INTERACTION.exec(pathname);
    if (m) {
      await handleInteraction(req, res, m[1]);
      return;
    }
    providerCallback(req, res);
  } catch (err) {
    console.error('devidp: request failed:', err);
    if (!res.headersSent) {
      sendHtml(res, err.status || 500, page('Something went wrong', `<p class="error">${esc(err.message)}</p>`));
    } else {
      res.end();
    }
  }
});

provider.on('server_error', (ctx, err) => console.error('devidp: server_error:', err));

server.listen(PORT, HOST, () => {
  const who = users.all.map((u) => `${u.login} <${u.email}> [${u.groups.join(',')}]`).join('; ');
  console.log(`devidp: issuer ${ISSUER} (development only); clients ${CLIENT_ID}, ${OTHER_CLIENT_ID}; users (password "${DEMO_PASSWORD}"): ${who}`);
  console.log(`devidp: machine clients (grant client_credentials, client_secret_basic, JWT access tokens for ${PRODUCER_AUDIENCE}): ${MACHINE_CLIENT_ID} / ${MACHINE_CLIENT_SECRET}, ${OTHER_MACHINE_ID} / ${OTHER_MACHINE_SECRET}; token endpoint ${ISSUER}/token`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
