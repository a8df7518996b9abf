// The remote agents the bot accepts: each `agents.remote` entry of the config file with its token, read from the
// environment variable the entry names (`tokenEnv`) or from its `name:token` entry in LYNC_EXO_AGENT_TOKENS. A token
// that no entry claims is a start-up error: an agent the configuration does not know would otherwise be served.
// Errors name the entry (by position and configured name) and the variable, never a value.
import type { AgentToken } from './env.js';
import type { Config } from './file.js';
import { ConfigError } from './runbooks.js';
import type { Role } from '../core/types.js';

export interface ResolvedRemoteAgent {
  name: string;
  roles: Role[];
  token: string;
}

const MIN_TOKEN = 16;

export function resolveRemoteAgents(remote: Config['agents']['remote'], listed: readonly AgentToken[], env: NodeJS.ProcessEnv): ResolvedRemoteAgent[] {
  const problems: string[] = [];
  const names = remote.map((r) => r.name);
  listed.forEach((t, i) => {
    if (!names.includes(t.name)) {
      problems.push(
        `LYNC_EXO_AGENT_TOKENS: entry ${i + 1} has no agents.remote entry in the config file (${names.length ? `configured: ${names.join(', ')}` : 'none is configured'}); a token without one is refused`,
      );
    }
  });
  const resolved: ResolvedRemoteAgent[] = [];
  remote.forEach((r, i) => {
    const where = `agents.remote[${i}] (${r.name})`;
    const fromList = listed.find((t) => t.name === r.name);
    if (r.tokenEnv !== undefined && fromList) {
      problems.push(`${where}: its token is given twice, in ${r.tokenEnv} (tokenEnv) and in LYNC_EXO_AGENT_TOKENS; keep one`);
      return;
    }
    let token = fromList?.token;
    if (r.tokenEnv !== undefined) {
      const raw = env[r.tokenEnv];
      token = typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined;
      if (token === undefined) return void problems.push(`${where}: tokenEnv: the variable ${r.tokenEnv} is not set`);
      if (token.length < MIN_TOKEN) return void problems.push(`${where}: the token in ${r.tokenEnv} is shorter than ${MIN_TOKEN} characters`);
      if (/\s/.test(token)) return void problems.push(`${where}: the token in ${r.tokenEnv} contains white space`);
    }
    if (token === undefined) return void problems.push(`${where}: no token: set tokenEnv to the environment variable that holds it, or list it in LYNC_EXO_AGENT_TOKENS`);
    const same = resolved.find((o) => o.token === token);
    if (same) return void problems.push(`${where}: the same token as agent ${same.name}; a token is an agent's identity, so each needs its own`);
    resolved.push({ name: r.name, roles: [...r.roles], token });
  });
  if (problems.length > 0) throw new ConfigError(`remote agents: ${problems.join('; ')}`);
  return resolved;
}
