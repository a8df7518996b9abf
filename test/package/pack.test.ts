// The package as an admin installs it: `npm pack` (which builds dist/), the tarball installed into an empty
// directory outside the project, and `lync-exo --version` and `lync-exo demo` run from there with plain Node.
// Nothing from the project's own node_modules is reachable from the install, so a dev dependency the package
// needed at run time would fail here.
//
// Native module: better-sqlite3 compiles with node-gyp (about 2 minutes on 2 cores). The install runs with
// --ignore-scripts and takes the compiled binary from the project's node_modules when it is the same
// better-sqlite3 version for the same Node; otherwise it compiles it (`npm rebuild better-sqlite3`, which needs
// npm_config_nodedir where Node's headers cannot be downloaded). Every package comes from the configured registry,
// through npm's cache when it has them (--prefer-offline).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; devDependencies: Record<string, string> };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Tools that must never be needed at run time: TypeScript, its runners, the test and lint stack. */
const DEV_ONLY = ['tsx', 'typescript', 'esbuild', 'vitest', 'eslint', 'typescript-eslint', 'nock', 'autocannon', 'fast-check'];

let work: string;
let tarball: string;
let files: string[];
let app: string;

/** The environment of a process that knows nothing of the project: no loader, no NODE_PATH. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'SYSTEMROOT', 'TEMP', 'TMP', 'DOTNET_ROLL_FORWARD', 'npm_config_nodedir', 'npm_config_cache', 'npm_config_registry'];
  return { ...Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])), ...extra };
}

function run(cmd: string, args: string[], cwd: string, env = cleanEnv(), timeoutMs = 240_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describeWithPwsh('the packed and installed package', () => {
  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'lync-exo-pack-'));
    // npm pack runs prepack (npm run build) in the project
    const packed = await run(npm, ['pack', '--json', '--pack-destination', work], ROOT, { ...process.env }, 300_000);
    expect(packed.code, packed.out).toBe(0);
    const info = JSON.parse(packed.out.slice(packed.out.search(/^\[\s*$/m))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(work, info[0]!.filename);
    files = info[0]!.files.map((f) => f.path);

    app = path.join(work, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'lync-exo-install-check', private: true }));
    const installed = await run(npm, ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], app);
    expect(installed.code, installed.out).toBe(0);

    const sqlite = path.join(app, 'node_modules', 'better-sqlite3');
    const built = path.join(ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    const versionOf = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    if (existsSync(built) && versionOf(sqlite) === versionOf(path.join(ROOT, 'node_modules', 'better-sqlite3'))) {
      mkdirSync(path.join(sqlite, 'build', 'Release'), { recursive: true });
      copyFileSync(built, path.join(sqlite, 'build', 'Release', 'better_sqlite3.node'));
    } else {
      const rebuilt = await run(npm, ['rebuild', 'better-sqlite3'], app, cleanEnv(), 600_000);
      expect(rebuilt.code, rebuilt.out).toBe(0);
    }
  }, 900_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the compiled code, runbooks, PowerShell, manifest, example config and README, and no tests or sources', () => {
    for (const want of ['bin/lync-exo.mjs', 'dist/main.js', 'dist/demo.js', 'commands/setup.yml', 'powershell/LyncExoAgent.psm1', 'powershell/LyncSim/LyncSim.psd1', 'service/Install-LyncExoService.ps1', 'manifest.yml', 'lync-exo.example.yml', 'README.md', 'package.json']) {
      expect(files).toContain(want);
    }
    expect(files.filter((f) => /^(test|src|bench|\.ci|\.tools)\//.test(f) || /\.test\.|\.ts$/.test(f))).toEqual([]);
  });

  it('installs without a dev dependency: no TypeScript, tsx or test tools in the install', () => {
    const manifest = JSON.parse(readFileSync(path.join(app, 'node_modules', pkg.name, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dev of Object.keys(pkg.devDependencies)) expect(Object.keys(manifest.dependencies)).not.toContain(dev);
    expect(DEV_ONLY.filter((name) => existsSync(path.join(app, 'node_modules', name)))).toEqual([]);
  });

  it('`lync-exo --version` prints the package version', () => {
    const out = execFileSync(path.join(app, 'node_modules', '.bin', 'lync-exo'), ['--version'], { cwd: app, env: cleanEnv(), encoding: 'utf8' });
    expect(out.trim()).toBe(pkg.version);
  });

  it('`lync-exo demo` runs the whole conversation from the install', async () => {
    const res = await run(path.join(app, 'node_modules', '.bin', 'lync-exo'), ['demo'], app, cleanEnv({ LYNC_EXO_PWSH: pwshExecutable()!, NO_COLOR: '1', LOG_LEVEL: 'warn' }), 300_000);
    expect(res.out).toMatch(/demo: every expectation held \(\d+ checks\)/);
    expect(res.code, res.out).toBe(0);
  }, 320_000);
});
