// Backstage compatibility: the unmodified npm package `@backstage/catalog-client` against
// Bearing's `/api/catalog` routes, checked against the demo catalog in ../../examples.
//
// These tests run in Node (no browser page). Expected values are derived from the example
// YAML, so they follow the demo catalog when it changes. See ../BACKSTAGE-CLIENT.md for the
// exact requests the client makes.
//
// Bearing requires sign-in: every request carries the viewer API token that global.setup.ts
// created with `bearing token create`, as `Authorization: Bearer <token>` (the header a Backstage
// backend's fetchApi adds).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CATALOG_FILTER_EXISTS, CatalogClient } from '@backstage/catalog-client';
import { type Entity, parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { expect, test } from '@playwright/test';
import { parseAllDocuments } from 'yaml';

import { VIEWER_TOKEN_FILE } from './auth-helpers';

const BASE_URL = 'http://127.0.0.1:3100/api/catalog';

// ---------------------------------------------------------------------------------------------
// The demo catalog, read from the YAML the server was seeded with.

type Doc = {
  kind: string;
  metadata: { name: string; namespace?: string; tags?: string[]; annotations?: Record<string, string> };
  spec?: Record<string, any>;
};

const EXAMPLES = path.resolve(__dirname, '../../examples');

/** Bearing's name for a Compass component: its `name`, lower-cased, non-alphanumerics as `-`. */
function compassName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/** Every entity the Location in examples/catalog-info.yaml leads to (the Location itself excluded). */
function loadExamples(): Doc[] {
  const read = (file: string) =>
    parseAllDocuments(fs.readFileSync(file, 'utf8'))
      .map(d => d.toJS())
      .filter(d => d && typeof d === 'object');
  const location = read(path.join(EXAMPLES, 'catalog-info.yaml')).find(d => d.kind === 'Location');
  const docs: Doc[] = [];
  for (const target of location.spec.targets as string[]) {
    const file = path.resolve(EXAMPLES, target);
    if (/compass\.ya?ml$/.test(file)) {
      for (const c of read(file)) {
        docs.push({
          kind: 'Component',
          metadata: { name: compassName(c.name), tags: c.labels },
          spec: { type: String(c.typeId).toLowerCase(), lifecycle: String(c.fields?.lifecycle).toLowerCase() },
        });
      }
    } else {
      docs.push(...read(file).filter(d => d.kind !== 'Location'));
    }
  }
  return docs;
}

const catalog = loadExamples();
const refOf = (d: { kind: string; metadata: { name: string; namespace?: string } }) =>
  stringifyEntityRef({ kind: d.kind, namespace: d.metadata.namespace ?? 'default', name: d.metadata.name }).toLowerCase();
const ofKind = (kind: string) => catalog.filter(d => d.kind === kind);
const components = ofKind('Component');
const refsWhere = (pred: (d: Doc) => boolean) => new Set(catalog.filter(pred).map(refOf));
/** `component:cart` / `cart-api` as written in YAML → full lower-case ref. */
const fullRef = (ref: string, defaultKind: string) =>
  stringifyEntityRef(parseEntityRef(ref, { defaultKind, defaultNamespace: 'default' })).toLowerCase();
/** ASCII byte order, what PostgreSQL's C collation and Backstage's sort give for these names. */
const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// A client whose requests are recorded, to check what went over the wire.

type Sent = { method: string; url: URL; status: number };

/** The viewer token (read when first needed: global.setup.ts writes it before these tests run). */
let token: string | undefined;
function viewerToken(): string {
  token ??= fs.readFileSync(VIEWER_TOKEN_FILE, 'utf8').trim();
  return token;
}

/** `fetch` with the viewer token. */
const authFetch: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set('Authorization', `Bearer ${viewerToken()}`);
  return fetch(input, { ...init, headers });
};

function newClient() {
  const sent: Sent[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await authFetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    sent.push({ method: init?.method ?? 'GET', url, status: res.status });
    return res;
  };
  const client = new CatalogClient({
    discoveryApi: { getBaseUrl: async () => BASE_URL },
    fetchApi: { fetch: recordingFetch },
  });
  return { client, sent };
}

const refsOf = (items: Array<Entity | undefined>) => items.map(e => (e ? refOf(e) : undefined));

test.describe('@backstage/catalog-client against /api/catalog', () => {
  test('the demo catalog is what the tests expect', () => {
    // Guards the expectations below: if this fails, the example YAML changed shape.
    expect(components.length).toBeGreaterThanOrEqual(40);
    expect(components.find(c => c.metadata.name === 'checkout')?.spec?.owner).toBe('group:team-checkout');
    expect(components.find(c => c.metadata.name === 'invoicing')?.spec?.dependsOn).toContain('component:legacy-erp');
    expect(catalog.some(d => d.metadata.name === 'legacy-erp')).toBe(false);
  });

  test('without a token, or with a wrong one, the catalog API answers 401', async () => {
    const anonymous = new CatalogClient({ discoveryApi: { getBaseUrl: async () => BASE_URL }, fetchApi: { fetch } });
    const err = await anonymous.getEntityByRef('component:default/checkout').then(
      () => undefined,
      e => e,
    );
    expect(err?.name).toBe('ResponseError');
    expect(err.statusCode).toBe(401);
    const wrong = await fetch(`${BASE_URL}/entities`, { headers: { Authorization: 'Bearer not-a-token' } });
    expect(wrong.status).toBe(401);
    // The same client with the token passed per call (the `{ token }` option) gets through.
    expect(await anonymous.getEntityByRef('component:default/checkout', { token: viewerToken() })).toBeDefined();
  });

  test('getEntityByRef returns an entity with Backstage metadata and relations', async () => {
    const { client, sent } = newClient();
    const yaml = components.find(c => c.metadata.name === 'checkout')!;

    const checkout = await client.getEntityByRef('component:default/checkout');
    expect(checkout).toBeDefined();
    expect(checkout!.apiVersion).toBe('backstage.io/v1alpha1');
    expect(checkout!.kind).toBe('Component');
    expect(checkout!.metadata.name).toBe('checkout');
    expect(checkout!.metadata.namespace).toBe('default');
    expect(checkout!.metadata.uid).toEqual(expect.any(String));
    expect(checkout!.metadata.etag).toEqual(expect.any(String));
    expect(checkout!.metadata.tags).toEqual(yaml.metadata.tags);
    expect(checkout!.spec).toMatchObject({ type: 'service', lifecycle: 'production', owner: 'group:team-checkout', system: 'checkout' });

    const relations = checkout!.relations ?? [];
    expect(relations).toContainEqual(expect.objectContaining({ type: 'ownedBy', targetRef: 'group:default/team-checkout' }));
    expect(relations).toContainEqual(expect.objectContaining({ type: 'partOf', targetRef: 'system:default/checkout' }));
    for (const dep of yaml.spec!.dependsOn as string[]) {
      expect(relations).toContainEqual(expect.objectContaining({ type: 'dependsOn', targetRef: fullRef(dep, 'component') }));
    }
    for (const api of (yaml.spec!.providesApis ?? []) as string[]) {
      expect(relations).toContainEqual(expect.objectContaining({ type: 'providesApi', targetRef: fullRef(api, 'api') }));
    }
    // Inverse relations appear on the other side.
    const team = await client.getEntityByRef('group:default/team-checkout');
    expect(team?.relations).toContainEqual(expect.objectContaining({ type: 'ownerOf', targetRef: 'component:default/checkout' }));

    // The other ref forms the client accepts reach the same entity.
    const viaCompound = await client.getEntityByRef({ kind: 'Component', namespace: 'default', name: 'checkout' });
    const viaShort = await client.getEntityByRef('Component:checkout');
    expect(viaCompound?.metadata.uid).toBe(checkout!.metadata.uid);
    expect(viaShort?.metadata.uid).toBe(checkout!.metadata.uid);

    expect(sent[0].method).toBe('GET');
    expect(sent[0].url.pathname).toBe('/api/catalog/entities/by-name/component/default/checkout');
  });

  test('getEntityByRef of a missing entity is undefined, and unresolved relations are kept', async () => {
    const { client, sent } = newClient();
    expect(await client.getEntityByRef('component:default/legacy-erp')).toBeUndefined();
    expect(await client.getEntityByRef('component:default/no-such-thing')).toBeUndefined();
    expect(sent.map(s => s.status)).toEqual([404, 404]);

    // The 404 body has Backstage's error shape.
    const res = await authFetch(`${BASE_URL}/entities/by-name/component/default/legacy-erp`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ error: { name: 'NotFoundError', message: expect.any(String) }, response: { statusCode: 404 } });

    const invoicing = await client.getEntityByRef('component:default/invoicing');
    expect(invoicing?.relations).toContainEqual(expect.objectContaining({ type: 'dependsOn', targetRef: 'component:default/legacy-erp' }));
  });

  test('getEntities with a filter and fields returns only matching entities and only those fields', async () => {
    const { client, sent } = newClient();
    const { items } = await client.getEntities({
      filter: { kind: 'Component', 'spec.type': 'service' },
      fields: ['kind', 'metadata.name', 'spec.type'],
    });
    const services = refsWhere(d => d.kind === 'Component' && d.spec?.type === 'service');
    expect(services.size).toBeGreaterThan(20);
    expect(new Set(refsOf(items))).toEqual(services);
    expect(items.length).toBe(services.size);
    for (const e of items) {
      expect(Object.keys(e).sort()).toEqual(['kind', 'metadata', 'spec']);
      expect(Object.keys(e.metadata)).toEqual(['name']);
      expect(e.spec).toEqual({ type: 'service' });
    }
    // This client version lists with GET /entities (not /entities/by-query).
    expect(sent).toHaveLength(1);
    expect(sent[0].method).toBe('GET');
    expect(sent[0].url.pathname).toBe('/api/catalog/entities');
    expect(sent[0].url.searchParams.getAll('filter')).toEqual(['kind=Component,spec.type=service']);
    expect(sent[0].url.searchParams.get('fields')).toBe('kind,metadata.name,spec.type');

    // Keys and values match case-insensitively, as in Backstage.
    const again = await client.getEntities({ filter: { KIND: 'component', 'Spec.Type': 'SERVICE' }, fields: ['metadata.name'] });
    expect(again.items.length).toBe(services.size);
  });

  test('fields reach annotation keys that contain dots', async () => {
    // Backstage's field selection joins path parts until a key matches, so
    // `metadata.annotations.backstage.io/kubernetes-id` selects one annotation.
    const { client } = newClient();
    const { items } = await client.getEntities({
      filter: { kind: 'Component', 'metadata.name': 'checkout' },
      fields: ['metadata.name', 'metadata.annotations.backstage.io/kubernetes-id'],
    });
    expect(items).toEqual([{ metadata: { name: 'checkout', annotations: { 'backstage.io/kubernetes-id': 'checkout' } } }]);
  });

  test('getEntities with an array filter ORs the filter sets, and repeated values OR within one', async () => {
    const { client, sent } = newClient();
    const { items } = await client.getEntities({ filter: [{ kind: 'System' }, { kind: 'Domain' }] });
    expect(new Set(refsOf(items))).toEqual(refsWhere(d => d.kind === 'System' || d.kind === 'Domain'));
    expect(items.length).toBe(ofKind('System').length + ofKind('Domain').length);
    expect(sent[0].url.searchParams.getAll('filter')).toEqual(['kind=System', 'kind=Domain']);

    const lifecycles = await client.getEntities({
      filter: { kind: 'Component', 'spec.lifecycle': ['experimental', 'deprecated'] },
      fields: ['kind', 'metadata.name', 'spec.lifecycle'],
    });
    const expected = refsWhere(d => d.kind === 'Component' && ['experimental', 'deprecated'].includes(d.spec?.lifecycle));
    expect(expected.size).toBeGreaterThanOrEqual(2);
    expect(new Set(refsOf(lifecycles.items))).toEqual(expected);
  });

  test('getEntities filters on relations, tags and key existence', async () => {
    const { client } = newClient();
    const names = async (filter: Record<string, string | symbol | string[]>) =>
      new Set(refsOf((await client.getEntities({ filter, fields: ['kind', 'metadata.name'] })).items));

    const ownedByCheckout = refsWhere(
      d => d.kind === 'Component' && !!d.spec?.owner && fullRef(d.spec.owner, 'group') === 'group:default/team-checkout',
    );
    expect(ownedByCheckout.size).toBeGreaterThan(1);
    expect(await names({ kind: 'Component', 'relations.ownedBy': 'group:default/team-checkout' })).toEqual(ownedByCheckout);

    const rust = refsWhere(d => d.kind === 'Component' && (d.metadata.tags ?? []).includes('rust'));
    expect(rust.size).toBeGreaterThan(0);
    expect(await names({ kind: 'Component', 'metadata.tags': 'rust' })).toEqual(rust);

    const k8s = refsWhere(d => d.kind === 'Component' && !!d.metadata.annotations?.['backstage.io/kubernetes-id']);
    expect(k8s.size).toBeGreaterThan(0);
    expect(k8s.size).toBeLessThan(components.length);
    expect(await names({ kind: 'Component', 'metadata.annotations.backstage.io/kubernetes-id': CATALOG_FILTER_EXISTS })).toEqual(k8s);
  });

  test('getEntities filters on a tag by the documented `metadata.tags.<tag>` form', async () => {
    // Backstage's search table has a `metadata.tags.java` = true row per string array item
    // (its API docs: "Return all entities with the java tag: filter=metadata.tags.java").
    const { client } = newClient();
    const java = refsWhere(d => (d.metadata.tags ?? []).includes('java'));
    expect(java.size).toBeGreaterThan(0);
    const { items } = await client.getEntities({ filter: { 'metadata.tags.java': CATALOG_FILTER_EXISTS }, fields: ['kind', 'metadata.name'] });
    expect(new Set(refsOf(items))).toEqual(java);
  });

  test('getEntities orders (order=asc|desc:field), skips (offset) and limits', async () => {
    const { client, sent } = newClient();
    const sorted = components.map(c => c.metadata.name).sort(byteOrder).reverse();
    const all = await client.getEntities({
      filter: { kind: 'Component' },
      fields: ['metadata.name'],
      order: { field: 'metadata.name', order: 'desc' },
    });
    expect(sent[0].url.searchParams.getAll('order')).toEqual(['desc:metadata.name']);
    expect(all.items.map(e => e.metadata.name)).toEqual(sorted);

    const page = await client.getEntities({
      filter: { kind: 'Component' },
      fields: ['metadata.name'],
      order: [{ field: 'metadata.name', order: 'desc' }],
      offset: 5,
      limit: 5,
    });
    expect(page.items.map(e => e.metadata.name)).toEqual(sorted.slice(5, 10));
  });

  test('queryEntities pages through everything with cursors, sorted and without duplicates', async () => {
    const { client, sent } = newClient();
    const everything = await client.getEntities({ fields: ['kind', 'metadata.namespace', 'metadata.name'] });
    const allRefs = new Set(refsOf(everything.items));
    expect(allRefs.size).toBe(everything.items.length);
    for (const d of catalog) expect(allRefs).toContain(refOf(d));

    const first = await client.queryEntities({ limit: 10, orderFields: { field: 'metadata.name', order: 'asc' } });
    expect(first.totalItems).toBe(everything.items.length);
    expect(first.items).toHaveLength(10);
    expect(first.pageInfo.prevCursor).toBeUndefined();
    expect(first.pageInfo.nextCursor).toEqual(expect.any(String));

    const seen: Entity[] = [...first.items];
    const pages = [first.items];
    let res = first;
    while (res.pageInfo.nextCursor) {
      expect(pages.length).toBeLessThan(100); // no endless loop
      res = await client.queryEntities({ cursor: res.pageInfo.nextCursor, limit: 10 });
      expect(res.items.length).toBeGreaterThan(0);
      expect(res.items.length).toBeLessThanOrEqual(10);
      expect(res.totalItems).toBe(first.totalItems);
      // Full entities unless fields are asked for.
      expect(res.items[0].spec).toBeDefined();
      seen.push(...res.items);
      pages.push(res.items);
    }
    expect(pages.length).toBe(Math.ceil(first.totalItems / 10));
    const refs = refsOf(seen);
    expect(seen.length).toBe(first.totalItems);
    expect(new Set(refs).size).toBe(seen.length);
    expect(new Set(refs)).toEqual(allRefs);
    const names = seen.map(e => e.metadata.name);
    expect(names).toEqual([...names].sort(byteOrder));

    // What went over the wire: the first page with orderField, the rest with only cursor+limit.
    const queries = sent.filter(s => s.url.pathname === '/api/catalog/entities/by-query');
    expect(queries.every(s => s.method === 'GET' && s.status === 200)).toBe(true);
    expect(queries[0].url.searchParams.getAll('orderField')).toEqual(['metadata.name,asc']);
    expect(queries[0].url.searchParams.get('limit')).toBe('10');
    for (const q of queries.slice(1)) {
      expect(q.url.searchParams.get('cursor')).toBeTruthy();
      expect(q.url.searchParams.has('orderField')).toBe(false);
    }

    // prevCursor from the second page leads back to the first.
    const second = await client.queryEntities({ cursor: first.pageInfo.nextCursor!, limit: 10 });
    expect(second.pageInfo.prevCursor).toEqual(expect.any(String));
    const back = await client.queryEntities({ cursor: second.pageInfo.prevCursor!, limit: 10 });
    expect(refsOf(back.items)).toEqual(refsOf(first.items));
  });

  test('queryEntities keeps filter and order across cursors and projects fields on every page', async () => {
    const { client } = newClient();
    const fields = ['kind', 'metadata.name'];
    let res = await client.queryEntities({
      filter: { kind: 'Component' },
      fields,
      limit: 7,
      orderFields: [{ field: 'metadata.name', order: 'desc' }],
    });
    expect(res.totalItems).toBe(components.length);
    const seen = [...res.items];
    while (res.pageInfo.nextCursor) {
      res = await client.queryEntities({ cursor: res.pageInfo.nextCursor, fields, limit: 7 });
      seen.push(...res.items);
    }
    expect(seen.map(e => e.metadata.name)).toEqual(components.map(c => c.metadata.name).sort(byteOrder).reverse());
    for (const e of seen) {
      expect(e).toEqual({ kind: 'Component', metadata: { name: expect.any(String) } });
    }
  });

  test('queryEntities honours offset on the first request', async () => {
    const { client, sent } = newClient();
    const sorted = components.map(c => c.metadata.name).sort(byteOrder);
    const res = await client.queryEntities({
      filter: { kind: 'Component' },
      fields: ['metadata.name'],
      orderFields: { field: 'metadata.name', order: 'asc' },
      offset: 5,
      limit: 5,
    });
    expect(sent[0].url.searchParams.get('offset')).toBe('5');
    expect(res.totalItems).toBe(components.length);
    expect(res.items.map(e => e.metadata.name)).toEqual(sorted.slice(5, 10));
  });

  test('queryEntities with limit 0 counts without returning items', async () => {
    // A common Backstage idiom: `const { totalItems } = await catalogApi.queryEntities({ filter, limit: 0 })`.
    const { client } = newClient();
    const res = await client.queryEntities({ filter: { kind: 'Component' }, limit: 0 });
    expect(res.items).toEqual([]);
    expect(res.totalItems).toBe(components.length);
    expect(res.pageInfo.nextCursor).toBeUndefined();
  });

  test('queryEntities full-text filter finds entities by part of their name, across pages', async () => {
    const { client, sent } = newClient();
    const expected = refsWhere(d => d.metadata.name.includes('checko'));
    expect(expected).toContain('component:default/checkout');
    expect(expected.size).toBeGreaterThan(2);

    let res = await client.queryEntities({
      fullTextFilter: { term: 'checko', fields: ['metadata.name'] },
      orderFields: { field: 'metadata.name', order: 'asc' },
      limit: 2,
    });
    expect(sent[0].url.searchParams.get('fullTextFilterTerm')).toBe('checko');
    expect(sent[0].url.searchParams.get('fullTextFilterFields')).toBe('metadata.name');
    expect(res.totalItems).toBe(expected.size);
    const seen = [...res.items];
    while (res.pageInfo.nextCursor) {
      res = await client.queryEntities({ cursor: res.pageInfo.nextCursor, limit: 2 });
      seen.push(...res.items);
    }
    expect(seen.length).toBe(expected.size);
    expect(new Set(refsOf(seen))).toEqual(expected);
  });

  test('queryEntities full-text filter without fields searches the sort field, as in Backstage', async () => {
    // Backstage: `fullTextFilter.fields` defaults to [first orderField] (else metadata.uid), so a
    // catalog table sorted by name and searched for "checko" matches names only.
    const { client } = newClient();
    const expected = refsWhere(d => d.metadata.name.includes('checko'));
    const res = await client.queryEntities({
      fullTextFilter: { term: '  CHECKO ' },
      orderFields: { field: 'metadata.name', order: 'asc' },
      fields: ['kind', 'metadata.name'],
      limit: 100,
    });
    expect(res.totalItems).toBe(expected.size);
    expect(new Set(refsOf(res.items))).toEqual(expected);
  });

  test('queryEntities rejects a malformed cursor with an InputError', async () => {
    const { client } = newClient();
    const err = await client.queryEntities({ cursor: 'not-a-cursor' }).then(
      () => undefined,
      e => e,
    );
    expect(err).toBeDefined();
    expect(err.name).toBe('ResponseError');
    expect(err.statusCode).toBe(400);
    expect(err.cause?.name).toBe('InputError');
  });

  test('predicate queries (`query`) are refused with an InputError, not ignored', async () => {
    // Bearing does not support Backstage's predicate filters yet. The client sends them as
    // POST bodies; they must fail loudly rather than return unfiltered results.
    const { client, sent } = newClient();
    const query = { kind: 'component' };
    const failure = (p: Promise<unknown>) => p.then(() => undefined, e => e);
    for (const err of [
      await failure(client.queryEntities({ query, limit: 5 })),
      await failure(client.getEntitiesByRefs({ entityRefs: ['component:default/checkout'], query })),
      await failure(client.getEntityFacets({ facets: ['kind'], query })),
    ]) {
      expect(err?.name).toBe('ResponseError');
      expect(err.statusCode).toBe(400);
      expect(err.cause?.name).toBe('InputError');
    }
    expect(sent.map(s => `${s.method} ${s.url.pathname}`)).toEqual([
      'POST /api/catalog/entities/by-query',
      'POST /api/catalog/entities/by-refs',
      'POST /api/catalog/entity-facets',
    ]);
  });

  test('getEntitiesByRefs keeps the order of the refs and gives undefined for missing ones', async () => {
    const { client, sent } = newClient();
    const refs = ['component:default/checkout', 'component:default/legacy-erp', 'group:default/team-checkout', 'component:default/cart'];
    const { items } = await client.getEntitiesByRefs({ entityRefs: refs });
    expect(items).toHaveLength(4);
    expect(refsOf(items)).toEqual([refs[0], undefined, refs[2], refs[3]]);
    expect(items[0]!.relations).toContainEqual(expect.objectContaining({ type: 'ownedBy', targetRef: 'group:default/team-checkout' }));
    expect(sent[0].method).toBe('POST');
    expect(sent[0].url.pathname).toBe('/api/catalog/entities/by-refs');

    // With fields: only those; with a filter: entities that don't match are undefined too.
    const projected = await client.getEntitiesByRefs({ entityRefs: refs, fields: ['kind', 'metadata.name'] });
    expect(projected.items).toEqual([
      { kind: 'Component', metadata: { name: 'checkout' } },
      undefined,
      { kind: 'Group', metadata: { name: 'team-checkout' } },
      { kind: 'Component', metadata: { name: 'cart' } },
    ]);
    const filtered = await client.getEntitiesByRefs({ entityRefs: refs, filter: { kind: 'Component' }, fields: ['metadata.name'] });
    expect(filtered.items.map(e => e?.metadata.name)).toEqual(['checkout', undefined, undefined, 'cart']);
    expect(sent[2].url.searchParams.getAll('filter')).toEqual(['kind=Component']);
  });

  test('getEntityFacets counts values, and the counts add up', async () => {
    const { client, sent } = newClient();
    const { facets } = await client.getEntityFacets({ facets: ['kind', 'spec.lifecycle'], filter: { kind: 'Component' } });
    expect(sent[0].url.pathname).toBe('/api/catalog/entity-facets');
    expect(sent[0].url.searchParams.getAll('facet')).toEqual(['kind', 'spec.lifecycle']);
    expect(sent[0].url.searchParams.getAll('filter')).toEqual(['kind=Component']);

    expect(facets.kind).toEqual([{ value: 'Component', count: components.length }]);
    const lifecycle = Object.fromEntries(facets['spec.lifecycle'].map(f => [f.value, f.count]));
    const expected: Record<string, number> = {};
    for (const c of components) expected[c.spec!.lifecycle] = (expected[c.spec!.lifecycle] ?? 0) + 1;
    expect(lifecycle).toEqual(expected);
    expect(facets['spec.lifecycle'].reduce((n, f) => n + f.count, 0)).toBe(components.length);

    // Across all entities every one has exactly one kind.
    const all = await client.getEntityFacets({ facets: ['kind'] });
    const everything = await client.getEntities({ fields: ['kind'] });
    expect(all.facets.kind.reduce((n, f) => n + f.count, 0)).toBe(everything.items.length);
    const kinds = Object.fromEntries(all.facets.kind.map(f => [f.value, f.count]));
    for (const kind of ['Component', 'API', 'System', 'Domain', 'Resource', 'Group', 'User']) {
      expect(kinds[kind], kind).toBe(ofKind(kind).length);
    }
  });
});
