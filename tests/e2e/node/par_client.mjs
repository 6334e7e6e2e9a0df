#!/usr/bin/env node
// An independent client for the end-to-end tests: openid-client (v6) does discovery, the
// pushed authorization request, the authorization URL and the code exchange with PKCE; this
// script only plays the person in front of the browser (a fetch loop with a cookie jar that
// logs in and presses "Authorize").
//
//   node par_client.mjs --server http://localhost:8000 --client-id demo-rp \
//       --client-secret demo-rp-secret --username demo --password demo-password \
//       --redirect-uri http://localhost:8000/demo/callback/ [--discovery oidc|oauth2]
//
// --discovery oidc (default) reads {server}/o/.well-known/openid-configuration and asks for
// "openid read"; oauth2 reads the RFC 8414 document {server}/.well-known/oauth-authorization-server/o
// and asks for "read". Prints one JSON object on stdout; exits 1 with {"error": ...} on failure.
//
// A key-based client: --private-key client.jwk (a private JWK, ES256 or PS256) authenticates with
// private_key_jwt instead of --client-secret, at PAR and at the token endpoint; --sign-request
// also signs the authorization request with that key and pushes it as a request object (JAR).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';

const { values: args } = parseArgs({
  options: {
    server: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    'redirect-uri': { type: 'string' },
    discovery: { type: 'string', default: 'oidc' },
    'private-key': { type: 'string' },
    'sign-request': { type: 'boolean', default: false },
  },
  strict: true,
});
const required = ['server', 'client-id', 'username', 'password', 'redirect-uri'];
for (const name of [...required, ...(args['private-key'] ? [] : ['client-secret'])]) {
  if (!args[name]) {
    throw new Error(`--${name} is required`);
  }
}
if (!['oidc', 'oauth2'].includes(args.discovery)) {
  throw new Error('--discovery must be oidc or oauth2');
}

const server = args.server.replace(/\/+$/, '');
const redirectUri = args['redirect-uri'];
const oidc = args.discovery === 'oidc';

// The person's browser: manual redirects, cookies kept, CSRF tokens read from the forms.
class Browser {
  constructor() {
    this.cookies = new Map();
    this.visited = [];
  }

  async request(url, { method = 'GET', form } = {}) {
    this.visited.push(url);
    const headers = { accept: 'text/html' };
    if (this.cookies.size) {
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    let body;
    if (form) {
      body = new URLSearchParams(form);
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = new URL(url).origin;
      headers.referer = url;
    }
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    const text = await response.text();
    const location = response.headers.get('location');
    return { status: response.status, text, location: location && new URL(location, url).href };
  }
}

function expect(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

function csrfToken(html) {
  const match = html.match(/name="csrfmiddlewaretoken" value="([^"]+)"/);
  expect(match, 'no CSRF token in the page');
  return match[1];
}

// GET authorize -> 302 login -> GET login form -> POST credentials -> 302 authorize ->
// consent page -> POST allow -> 302 to the redirect URI (not followed: we are the client).
async function signInAndConsent(browser, authorizationUrl) {
  let answer = await browser.request(authorizationUrl);
  expect(answer.status === 302, `authorize: HTTP ${answer.status}`);
  const loginUrl = answer.location;
  expect(new URL(loginUrl).pathname === '/accounts/login/', `not sent to log in: ${loginUrl}`);

  const loginForm = await browser.request(loginUrl);
  expect(loginForm.status === 200, `login form: HTTP ${loginForm.status}`);
  answer = await browser.request(loginUrl, {
    method: 'POST',
    form: {
      csrfmiddlewaretoken: csrfToken(loginForm.text),
      username: args.username,
      password: args.password,
      next: new URL(loginUrl).searchParams.get('next'),
    },
  });
  expect(answer.status === 302, `login: HTTP ${answer.status}`);
  const consentUrl = answer.location;
  expect(new URL(consentUrl).pathname === '/o/authorize/', `not sent back to authorize: ${consentUrl}`);

  const consent = await browser.request(consentUrl);
  expect(consent.status === 200, `consent page: HTTP ${consent.status}`);
  expect(consent.text.includes('name="allow"'), 'no Authorize button on the consent page');
  answer = await browser.request(consentUrl, {
    method: 'POST',
    form: { csrfmiddlewaretoken: csrfToken(consent.text), allow: 'Authorize' },
  });
  expect(answer.status === 302, `consent: HTTP ${answer.status}`);
  expect(answer.location.startsWith(redirectUri), `not redirected to the client: ${answer.location}`);
  return answer.location;
}

// The WebCrypto algorithm that makes oauth4webapi sign with ES256 or PS256.
const IMPORT_ALGORITHMS = {
  EC: { name: 'ECDSA', namedCurve: 'P-256' },
  RSA: { name: 'RSA-PSS', hash: 'SHA-256' },
};

async function privateKey(path) {
  const jwk = JSON.parse(readFileSync(path, 'utf8'));
  const key = await crypto.subtle.importKey('jwk', jwk, IMPORT_ALGORITHMS[jwk.kty], false, ['sign']);
  return { key, kid: jwk.kid };
}

async function main() {
  // The issuer is {server}/o either way; RFC 8414 discovery then reads
  // {server}/.well-known/oauth-authorization-server/o (path insertion, RFC 8414 §3).
  const issuer = new URL(`${server}/o`);
  const signingKey = args['private-key'] ? await privateKey(args['private-key']) : undefined;
  const config = await client.discovery(
    issuer,
    args['client-id'],
    signingKey ? undefined : args['client-secret'],
    signingKey ? client.PrivateKeyJwt(signingKey) : undefined,
    oidc
      ? { execute: [client.allowInsecureRequests] }
      : { execute: [client.allowInsecureRequests], algorithm: 'oauth2' },
  );
  const metadata = config.serverMetadata();

  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const parameters = {
    redirect_uri: redirectUri,
    scope: oidc ? 'openid read' : 'read',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
  };
  const nonce = oidc ? client.randomNonce() : undefined;
  if (nonce) {
    parameters.nonce = nonce;
  }
  let pushedParameters = parameters;
  if (args['sign-request']) {
    // openid-client's way to combine JAR and PAR: sign first, then push the URL's parameters.
    const signed = await client.buildAuthorizationUrlWithJAR(config, parameters, signingKey);
    pushedParameters = signed.searchParams;
  }
  const authorizationUrl = await client.buildAuthorizationUrlWithPAR(config, pushedParameters);

  const browser = new Browser();
  const callback = await signInAndConsent(browser, authorizationUrl.href);
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: oidc,
  });

  return {
    discovery: args.discovery,
    issuer: metadata.issuer,
    pushed_authorization_request_endpoint: metadata.pushed_authorization_request_endpoint,
    require_pushed_authorization_requests: metadata.require_pushed_authorization_requests,
    token_endpoint_auth_methods_supported: metadata.token_endpoint_auth_methods_supported ?? null,
    request_object_signing_alg_values_supported: metadata.request_object_signing_alg_values_supported ?? null,
    authorization_url: authorizationUrl.href,
    pushed: { state, nonce: nonce ?? null, code_challenge: parameters.code_challenge },
    visited: browser.visited,
    callback,
    token_response: { ...tokens },
    id_token_claims: tokens.claims() ?? null,
  };
}

try {
  process.stdout.write(`${JSON.stringify(await main(), null, 2)}\n`);
} catch (error) {
  const detail = { error: String(error), code: error?.code ?? null, cause: error?.cause ?? null };
  process.stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
  process.exitCode = 1;
}
