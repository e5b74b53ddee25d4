import { randomUUID } from 'node:crypto';

import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';

import { IS_PUBLIC } from '../src/auth/auth.decorators';
import { createTestDatabase, TestDatabase } from './support/database';
import { http } from './support/http';
import { TOKEN_REQUIRED } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

/**
 * Routes that respond without an access token. Adding a route here is a
 * security decision. A route that is neither here nor guarded fails below.
 */
const PUBLIC_CONTROLLER_ROUTES = [
  'POST /auth/register',
  'POST /auth/login',
  'POST /auth/refresh',
  'GET /health/live',
  'GET /health/ready',
  'GET /.well-known/jwks.json',
  // Needs no JWT; with METRICS_TOKEN set, MetricsTokenGuard requires that token (test/metrics.e2e.spec.ts).
  'GET /metrics',
];

/**
 * Routes that skip the bearer guard because OAuth clients authenticate with
 * HTTP Basic instead (RFC 7662, RFC 7009). Without credentials they return
 * 401 with a Basic challenge, as the test below checks.
 */
const CLIENT_AUTHENTICATED_ROUTES = ['POST /oauth/introspect', 'POST /oauth/revoke'];

/** The OpenAPI explorer, which @nestjs/swagger registers on Fastify directly, outside every controller. */
const PUBLIC_DOCS_ROUTES = [
  'GET /docs',
  'GET /docs/',
  'GET /docs/*',
  'GET /docs/LICENSE',
  'GET /docs/docs/swagger-ui-init.js',
  'GET /docs/index.html',
  'GET /docs/openapi.json',
  'GET /docs/swagger-ui-init.js',
  'GET /docs/openapi.yaml',
];

interface RegisteredRoute {
  method: string;
  url: string;
}

/**
 * Read Fastify's route table from printRoutes(), the only listing Fastify
 * offers after the routes are registered. Each line is one radix-tree node:
 * its depth comes from the indentation, its path is the parent's path plus
 * its own segment, and its methods are in parentheses.
 */
function parseRouteTree(tree: string): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const prefixes: string[] = [];

  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([^)]+)\))?$/.exec(line);
    if (!match) continue;

    const depth = match[1].length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2];
    prefixes[depth] = path;
    prefixes.length = depth + 1;

    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url: path });
  }
  return routes;
}

/** List every route that a Nest controller declares, with whether @Public() applies to it. */
function controllerRoutes(verso: TestApp): Array<{ route: string; isPublic: boolean }> {
  const reflector = verso.app.get(Reflector);
  const routes: Array<{ route: string; isPublic: boolean }> = [];

  for (const module of verso.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as new (...args: unknown[]) => object;
      const prefix = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');

      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;

        const path = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        const url = `/${[prefix, path].map((part) => part.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`;
        const isPublic = reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [handler, controller]) === true;
        routes.push({ route: `${RequestMethod[method]} ${url}`, isPublic });
      }
    }
  }
  return routes;
}

describe('route guard coverage', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let registered: RegisteredRoute[];

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    registered = parseRouteTree(verso.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false }));
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('reads a route table that Fastify confirms', () => {
    const fastify = verso.app.getHttpAdapter().getInstance();

    expect(registered.length).toBeGreaterThan(20);
    for (const route of registered) expect(fastify.hasRoute(route)).toBe(true);
  });

  it('reads every controller route from the table', () => {
    const table = new Set(registered.map(({ method, url }) => `${method} ${url}`));

    for (const { route } of controllerRoutes(verso)) expect(table).toContain(route);
  });

  it('marks exactly the allowed controller routes @Public()', () => {
    const marked = controllerRoutes(verso)
      .filter((route) => route.isPublic)
      .map((route) => route.route);

    expect(marked.sort()).toEqual([...PUBLIC_CONTROLLER_ROUTES, ...CLIENT_AUTHENTICATED_ROUTES].sort());
  });

  it('answers 401 without client credentials on the OAuth routes', async () => {
    for (const route of CLIENT_AUTHENTICATED_ROUTES) {
      const [method, url] = route.split(' ');
      const response = await http(verso.baseUrl, method, url, { form: { token: 'x' } });

      expect({ route, status: response.status, challenge: response.headers.get('www-authenticate') }).toEqual({
        route,
        status: 401,
        challenge: 'Basic realm="verso", charset="UTF-8"',
      });
    }
  });

  it('serves no route outside the controllers but the docs', () => {
    const inControllers = new Set(controllerRoutes(verso).map((route) => route.route));

    const outside = registered
      .filter(({ method }) => method !== 'HEAD')
      .map(({ method, url }) => `${method} ${url}`)
      .filter((route) => !inControllers.has(route));

    expect(outside.sort()).toEqual([...PUBLIC_DOCS_ROUTES].sort());
  });

  it('answers 401 without a token on every other route', async () => {
    const allowed = new Set([...PUBLIC_CONTROLLER_ROUTES, ...CLIENT_AUTHENTICATED_ROUTES, ...PUBLIC_DOCS_ROUTES]);
    // HEAD mirrors GET in Fastify, so the HEAD of a public GET is public too.
    const isAllowed = ({ method, url }: RegisteredRoute) => allowed.has(`${method === 'HEAD' ? 'GET' : method} ${url}`);
    const guarded = registered.filter((route) => !isAllowed(route));
    expect(guarded.length).toBeGreaterThan(10);

    for (const { method, url } of guarded) {
      const path = url.replace(/:[^/]+/g, () => randomUUID());
      const response = await http(verso.baseUrl, method, path, method === 'POST' ? { body: {} } : {});

      expect({ route: `${method} ${url}`, status: response.status }).toEqual({ route: `${method} ${url}`, status: 401 });
      if (method !== 'HEAD') expect(response.body).toEqual(TOKEN_REQUIRED);
    }
  });
});
