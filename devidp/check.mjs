// Self-test for the Bearing dev identity provider. Starts nothing: it expects the provider to be
// running at DEVIDP_ISSUER (default http://127.0.0.1:4010) with the same DEVIDP_* settings.
//
//   node devidp/server.mjs &   # then
//   node devidp/check.mjs
//
// Uses only node's built-in fetch and node:crypto. Exits non-zero with a message on failure.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';

const env = process.env;
const ISSUER = (env.DEVIDP_ISSUER || 'http://127.0.0.1:4010').replace(/\/+$/, '');
const CLIENT_ID = env.DEVIDP_CLIENT_ID || 'bearing-dev';
const CLIENT_SECRET = env.DEVIDP_CLIENT_SECRET || 'bearing-dev-secret';
const REDIRECT_URI = (env.DEVIDP_REDIRECT_URIS || 'http://127.0.0.1:3000/auth/callback').split(',')[0].trim();
const POST_LOGOUT_URI = (env.DEVIDP_POST_LOGOUT_REDIRECT_URIS || 'http://127.0.0.1:3000/').split(',')[0].trim();
const ID_TOKEN_TTL = Number(env.DEVIDP_ID_TOKEN_TTL || 3600);
const OTHER = { id: 'other-client', secret: 'other-secret' };
const MACHINE = {
  id: env.DEVIDP_MACHINE_CLIENT_ID || 'luigi-orders',
  secret: env.DEVIDP_MACHINE_CLIENT_SECRET || 'luigi-orders-secret',
};
const PRODUCER_AUDIENCE = env.DEVIDP_PRODUCER_AUDIENCE || 'http://127.0.0.1:3000';
const SCOPE = 'openid email profile groups';

let passed = 0;
function ok(what) {
  passed += 1;
  console.log(`ok ${passed} - ${what}`);
}

// --- a tiny cookie jar (name -> {value, path}); the provider's cookies are host-only ---------

const jar = new Map();
function storeCookies(res) {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let cpath = '/';
    let expired = value === '';
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      if (k.toLowerCase() === 'path') cpath = v;
      if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
    }
    if (expired) jar.delete(`${name}|${cpath}`);
    else jar.set(`${name}|${cpath}`, { name, value, path: cpath });
  }
}
function cookieHeader(url) {
  const { pathname } = new URL(url);
  const parts = [];
  for (const c of jar.values()) {
    const p = c.path.endsWith('/') ? c.path : `${c.path}/`;
    if (pathname === c.path || pathname.startsWith(p)) parts.push(`${c.name}=${c.value}`);
  }
  return parts.join('; ');
}
function cookieNames() {
  return [...new Set([...jar.values()].map((c) => c.name))];
}

async function request(url, { method = 'GET', form, headers = {} } = {}) {
  const h = { ...headers };
  if (url.startsWith(ISSUER)) {
    const cookie = cookieHeader(url);
    if (cookie) h.cookie = cookie;
  }
  let body;
  if (form) {
    body = new URLSearchParams(form).toString();
    h['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(url, { method, headers: h, body, redirect: 'manual' });
  if (url.startsWith(ISSUER)) storeCookies(res);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, location: res.headers.get('location') };
}

function abs(location) {
  return new URL(location, ISSUER).href;
}

// Follows redirects on the provider until one leaves for the client's redirect URI, or a page
// (status 200) is reached. Returns { url, page }.
async function follow(first) {
  let res = first;
  for (let hops = 0; hops < 10; hops += 1) {
    if (res.status === 200) return { page: res };
    if (![302, 303].includes(res.status) || !res.location) {
      throw new Error(`expected a redirect or a page, got HTTP ${res.status}: ${res.text.slice(0, 300)}`);
    }
    const next = abs(res.location);
    if (!next.startsWith(ISSUER)) return { url: new URL(next) };
    res = await request(next);
  }
  throw new Error('too many redirects');
}

function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authUrl(disc, extra) {
  const u = new URL(disc.authorization_endpoint);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) u.searchParams.set(k, v);
  return u.href;
}

function basic(id, secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function exchange(disc, { code, verifier, id, secret }) {
  const res = await fetch(disc.token_endpoint, {
    method: 'POST',
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier,
    }).toString(),
  });
  return { status: res.status, json: await res.json().catch(() => ({})) };
}

async function verifyIdToken(disc, idToken) {
  const [h, p, s] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  assert.equal(header.alg, 'RS256', 'ID token alg');
  const jwks = await (await fetch(disc.jwks_uri)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `no JWKS key with kid ${header.kid}`);
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const valid = crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  assert.ok(valid, 'ID token signature does not verify against the JWKS');
  return payload;
}

function expectAuthRedirect(url, { state }) {
  assert.equal(`${url.origin}${url.pathname}`, new URL(REDIRECT_URI).href.replace(/\?.*$/, ''), 'redirected to the wrong place');
  const err = url.searchParams.get('error');
  assert.ok(!err, `authorization error: ${err} ${url.searchParams.get('error_description') || ''}`);
  assert.equal(url.searchParams.get('state'), state, 'state not echoed');
  assert.equal(url.searchParams.get('iss'), ISSUER, 'iss parameter in the authorization response');
  const code = url.searchParams.get('code');
  assert.ok(code, 'no code in the authorization response');
  return code;
}

async function main() {
  // 1. Discovery.
  const discRes = await fetch(`${ISSUER}/.well-known/openid-configuration`).catch((err) => {
    throw new Error(`provider not reachable at ${ISSUER} (start it with: node devidp/server.mjs): ${err.cause?.code || err.message}`);
  });
  assert.equal(discRes.status, 200, 'discovery status');
  const disc = await discRes.json();
  assert.equal(disc.issuer, ISSUER, 'discovery issuer');
  assert.deepEqual(disc.code_challenge_methods_supported, ['S256'], 'code_challenge_methods_supported');
  assert.ok(disc.id_token_signing_alg_values_supported.includes('RS256'), 'RS256 ID tokens supported');
  assert.ok(disc.scopes_supported.includes('groups'), 'groups scope advertised');
  assert.ok(disc.end_session_endpoint, 'end_session_endpoint advertised');
  ok(`discovery at ${ISSUER}`);

  // 2. Users.
  const users = await (await fetch(`${ISSUER}/dev/users`)).json();
  assert.ok(Array.isArray(users) && users.length >= 5, '/dev/users lists the demo users');
  for (const u of users) {
    assert.deepEqual(Object.keys(u).sort(), ['email', 'groups', 'login', 'name', 'role_hint'], `/dev/users fields for ${u.login}`);
  }
  const lead = users.find((u) => u.role_hint.startsWith('lead of'));
  assert.ok(lead, 'a team lead among the demo users');
  ok(`/dev/users (${users.length} users, lead ${lead.login})`);

  // 3. Authorization request with PKCE S256, nonce and state; login_hint prefills the form.
  const pkce = pkcePair();
  const state = crypto.randomBytes(16).toString('base64url');
  const nonce = crypto.randomBytes(16).toString('base64url');
  const start = await request(authUrl(disc, {
    client_id: CLIENT_ID,
    response_type: 'code',
    scope: SCOPE,
    redirect_uri: REDIRECT_URI,
    state,
    nonce,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    login_hint: lead.login,
  }));
  const { page: login, url: early } = await follow(start);
  assert.ok(!early, `expected the login page, got a redirect to ${early}`);
  const names = cookieNames();
  for (const n of ['devidp_interaction', 'devidp_resume']) assert.ok(names.includes(n), `cookie ${n} set (have ${names})`);
  assert.ok(!names.some((n) => n.startsWith('_')), `provider default cookie names leaked: ${names}`);
  assert.match(login.text, /<title>Bearing dev identity provider<\/title>/, 'login page title');
  assert.ok(!/<script/i.test(login.text), 'login page has no script');
  assert.match(login.headers.get('content-security-policy') || '', /default-src 'none'/, 'login page CSP');
  for (const u of users) {
    assert.ok(login.text.includes(`<button type="submit" name="login" value="${u.login}">Sign in as `), `button for ${u.login}`);
  }
  assert.ok(login.text.includes(`name="login" value="${lead.login}"`), 'login_hint prefills the username');
  const action = login.text.match(/<form method="post" action="([^"]+)">/)[1];
  const interactionUrl = abs(action);
  ok('login page (title, one button per user, login_hint, no script, CSP)');

  // 4. Unknown login and wrong password are refused with the form again.
  let r = await request(interactionUrl, { method: 'POST', form: { mode: 'pick', login: 'nobody' } });
  assert.equal(r.status, 200, 'unknown user button: status');
  assert.match(r.text, /Unknown user/, 'unknown user button: message');
  r = await request(interactionUrl, { method: 'POST', form: { mode: 'password', login: lead.login, password: 'wrong' } });
  assert.equal(r.status, 200, 'wrong password: status');
  assert.match(r.text, /Unknown user or wrong password/, 'wrong password: message');
  assert.ok(r.text.includes(`name="login" value="${lead.login}"`), 'wrong password: username kept');
  r = await request(interactionUrl, { method: 'POST', form: { mode: 'password', login: 'nobody', password: 'bearing' } });
  assert.match(r.text, /Unknown user or wrong password/, 'unknown user with password: message');
  ok('unknown login and wrong password refused (HTTP 200, form again)');

  // 5. The right password finishes the interaction; consent is automatic.
  r = await request(interactionUrl, { method: 'POST', form: { mode: 'password', login: lead.login, password: 'bearing' } });
  assert.equal(r.status, 303, `login POST should redirect, got ${r.status}: ${r.text.slice(0, 200)}`);
  const { url: cb, page: stuck } = await follow(r);
  assert.ok(!stuck, `expected a redirect to the client, got a page: ${stuck?.text.slice(0, 300)}`);
  const code = expectAuthRedirect(cb, { state });
  assert.ok(cookieNames().includes('devidp_session'), 'devidp_session cookie set');
  ok('password login -> redirect to the client with code, state and iss');

  // 6. Token exchange with client_secret_basic and the PKCE verifier.
  const tok = await exchange(disc, { code, verifier: pkce.verifier, id: CLIENT_ID, secret: CLIENT_SECRET });
  assert.equal(tok.status, 200, `token endpoint: ${JSON.stringify(tok.json)}`);
  assert.equal(tok.json.token_type, 'Bearer');
  assert.ok(tok.json.id_token && tok.json.access_token, 'id_token and access_token issued');
  const claims = await verifyIdToken(disc, tok.json.id_token);
  assert.equal(claims.iss, ISSUER, 'ID token iss');
  assert.equal(claims.aud, CLIENT_ID, 'ID token aud');
  assert.equal(claims.nonce, nonce, 'ID token nonce');
  assert.equal(claims.email, lead.email, 'ID token email');
  assert.equal(claims.email_verified, true, 'ID token email_verified');
  assert.equal(claims.name, lead.name, 'ID token name');
  assert.equal(claims.preferred_username, lead.login, 'ID token preferred_username');
  assert.deepEqual(claims.groups, lead.groups, 'ID token groups');
  assert.match(claims.sub, /\S/, 'ID token sub');
  assert.equal(claims.exp - claims.iat, ID_TOKEN_TTL, 'ID token lifetime');
  ok(`ID token (RS256 signature, iss, aud, nonce, email, groups ${JSON.stringify(claims.groups)})`);

  const ui = await fetch(disc.userinfo_endpoint, { headers: { authorization: `Bearer ${tok.json.access_token}` } });
  const uij = await ui.json();
  assert.equal(ui.status, 200, `userinfo: ${JSON.stringify(uij)}`);
  assert.equal(uij.sub, claims.sub);
  assert.deepEqual(uij.groups, lead.groups, 'userinfo groups');
  ok('userinfo');

  // 7. The code is single-use.
  const replay = await exchange(disc, { code, verifier: pkce.verifier, id: CLIENT_ID, secret: CLIENT_SECRET });
  assert.equal(replay.status, 400, `replayed code should fail, got ${replay.status}`);
  assert.equal(replay.json.error, 'invalid_grant', 'replayed code error');
  ok('replayed code refused (invalid_grant)');

  // 8. Same session, second client: no login page, a token for another audience.
  const pkce2 = pkcePair();
  const state2 = crypto.randomBytes(16).toString('base64url');
  const nonce2 = crypto.randomBytes(16).toString('base64url');
  const sso = await follow(await request(authUrl(disc, {
    client_id: OTHER.id, response_type: 'code', scope: SCOPE, redirect_uri: REDIRECT_URI,
    state: state2, nonce: nonce2, code_challenge: pkce2.challenge, code_challenge_method: 'S256',
  })));
  assert.ok(sso.url, `other-client: expected single sign-on, got a page: ${sso.page?.text.slice(0, 200)}`);
  const code2 = expectAuthRedirect(sso.url, { state: state2 });
  const wrongVerifier = await exchange(disc, { code: code2, verifier: pkcePair().verifier, id: OTHER.id, secret: OTHER.secret });
  assert.equal(wrongVerifier.json.error, 'invalid_grant', 'wrong code_verifier refused');
  const pkce3 = pkcePair();
  const state3 = crypto.randomBytes(16).toString('base64url');
  const sso2 = await follow(await request(authUrl(disc, {
    client_id: OTHER.id, response_type: 'code', scope: SCOPE, redirect_uri: REDIRECT_URI,
    state: state3, nonce: nonce2, code_challenge: pkce3.challenge, code_challenge_method: 'S256',
  })));
  const code3 = expectAuthRedirect(sso2.url, { state: state3 });
  const tok2 = await exchange(disc, { code: code3, verifier: pkce3.verifier, id: OTHER.id, secret: OTHER.secret });
  assert.equal(tok2.status, 200, `other-client token: ${JSON.stringify(tok2.json)}`);
  const claims2 = await verifyIdToken(disc, tok2.json.id_token);
  assert.equal(claims2.aud, OTHER.id, 'other-client ID token aud');
  assert.equal(claims2.sub, claims.sub, 'same sub for both clients');
  ok('wrong code_verifier refused; other-client gets a token with aud other-client via SSO');

  // 9. Without PKCE (or with plain) the authorization request is refused.
  for (const [label, extra] of [
    ['no code_challenge', {}],
    ['code_challenge_method=plain', { code_challenge: pkcePair().verifier, code_challenge_method: 'plain' }],
  ]) {
    const res = await request(authUrl(disc, {
      client_id: CLIENT_ID, response_type: 'code', scope: SCOPE, redirect_uri: REDIRECT_URI,
      state: 'no-pkce', nonce: 'n', ...extra,
    }));
    assert.ok([302, 303].includes(res.status), `${label}: expected an error redirect, got ${res.status}`);
    const u = new URL(abs(res.location));
    assert.ok(!u.searchParams.get('code'), `${label}: a code was issued`);
    assert.equal(u.searchParams.get('error'), 'invalid_request', `${label}: error`);
    assert.equal(u.searchParams.get('state'), 'no-pkce', `${label}: state`);
  }
  ok('authorization without PKCE (or with plain) refused (invalid_request)');

  // 10. RP-initiated logout ends the provider session.
  const lo = await request(`${disc.end_session_endpoint}?${new URLSearchParams({
    id_token_hint: tok.json.id_token, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bye',
  })}`);
  assert.equal(lo.status, 200, `end_session page: ${lo.status}`);
  assert.ok(!/<script/i.test(lo.text), 'logout page has no script');
  const loAction = lo.text.match(/<form[^>]*action="([^"]+)"/)[1];
  const xsrf = lo.text.match(/name="xsrf" value="([^"]+)"/)[1];
  const done = await request(abs(loAction), { method: 'POST', form: { xsrf, logout: 'yes' } });
  assert.ok([302, 303].includes(done.status), `logout confirm: ${done.status} ${done.text.slice(0, 200)}`);
  const after = new URL(abs(done.location));
  assert.equal(`${after.origin}${after.pathname}`, POST_LOGOUT_URI.replace(/\?.*$/, ''), 'post-logout redirect');
  assert.equal(after.searchParams.get('state'), 'bye', 'post-logout state');
  const pkce4 = pkcePair();
  const again = await follow(await request(authUrl(disc, {
    client_id: CLIENT_ID, response_type: 'code', scope: SCOPE, redirect_uri: REDIRECT_URI,
    state: 's4', nonce: 'n4', code_challenge: pkce4.challenge, code_challenge_method: 'S256',
  })));
  assert.ok(again.page && /Sign in as/.test(again.page.text), 'after logout the login page is shown again');
  ok('RP-initiated logout (confirm form, post_logout_redirect_uri, session gone)');

  // 11. The one-click demo user buttons sign in without a password.
  const other = users.find((u) => u.login !== lead.login);
  const action4 = abs(again.page.text.match(/<form method="post" action="([^"]+)">/)[1]);
  const picked = await follow(await request(action4, { method: 'POST', form: { mode: 'pick', login: other.login } }));
  assert.ok(picked.url, `button login: expected a redirect to the client, got ${picked.page?.text.slice(0, 200)}`);
  const code4 = expectAuthRedirect(picked.url, { state: 's4' });
  const tok4 = await exchange(disc, { code: code4, verifier: pkce4.verifier, id: CLIENT_ID, secret: CLIENT_SECRET });
  assert.equal(tok4.status, 200, `button login token: ${JSON.stringify(tok4.json)}`);
  const claims4 = await verifyIdToken(disc, tok4.json.id_token);
  assert.equal(claims4.email, other.email, 'button login email');
  assert.deepEqual(claims4.groups, other.groups, 'button login groups');
  assert.equal(claims4.nonce, 'n4', 'button login nonce');
  ok(`one-click button login as ${other.login}`);

  // 12. A machine client gets a JWT access token for Bearing with the client-credentials grant;
  // the portal's own client may not use that grant.
  const machine = async (id, secret, extra = {}) => {
    const res = await fetch(disc.token_endpoint, {
      method: 'POST',
      headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...extra }).toString(),
    });
    return { status: res.status, json: await res.json().catch(() => ({})) };
  };
  const cc = await machine(MACHINE.id, MACHINE.secret, { scope: 'lineage:write' });
  assert.equal(cc.status, 200, `client credentials: ${JSON.stringify(cc.json)}`);
  const at = await verifyIdToken(disc, cc.json.access_token);
  const atHeader = JSON.parse(Buffer.from(cc.json.access_token.split('.')[0], 'base64url').toString('utf8'));
  assert.equal(atHeader.typ, 'at+jwt', 'access token typ');
  assert.equal(at.iss, ISSUER, 'access token iss');
  assert.equal(at.aud, PRODUCER_AUDIENCE, 'access token aud (the default resource)');
  assert.equal(at.client_id, MACHINE.id, 'access token client_id');
  assert.ok(at.exp > Date.now() / 1000, 'access token not expired');
  const named = await machine(MACHINE.id, MACHINE.secret, { resource: PRODUCER_AUDIENCE });
  assert.equal(named.status, 200, `client credentials with resource: ${JSON.stringify(named.json)}`);
  const elsewhere = await machine(MACHINE.id, MACHINE.secret, { resource: 'https://elsewhere.example' });
  assert.equal(elsewhere.json.error, 'invalid_target', 'tokens only for Bearing');
  const portal = await machine(CLIENT_ID, CLIENT_SECRET);
  assert.equal(portal.status, 400, `the portal's client may not use client credentials: ${JSON.stringify(portal.json)}`);
  ok(`client credentials: ${MACHINE.id} gets an RS256 at+jwt for ${PRODUCER_AUDIENCE}; other resources and clients refused`);

  console.log(`devidp check: ${passed} passed, 0 failed`);
}

main().catch((err) => {
  console.error(`devidp check FAILED after ${passed} passed step(s): ${err.message}`);
  if (env.DEVIDP_CHECK_DEBUG) console.error(err);
  console.log(`devidp check: ${passed} passed, 1 failed`);
  process.exit(1);
});
