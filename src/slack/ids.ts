// The ids that tie Block Kit elements to their listeners: one place, so a button and its listener cannot drift.
export const ACTIONS = {
  approve: 'lync_exo_approve',
  deny: 'lync_exo_deny',
} as const;

export const VIEWS = {
  denyReason: 'lync_exo_deny_reason',
} as const;

export const DENY_INPUT = { block: 'reason', action: 'reason' } as const;
