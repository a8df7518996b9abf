// The ids that tie Block Kit elements to their listeners: one place, so a button and its listener cannot drift.
export const ACTIONS = {
  approve: 'lync_exo_approve',
  deny: 'lync_exo_deny',
  /** a drift report's button: plans the change that puts it right */
  fix: 'lync_exo_fix',
} as const;

export const VIEWS = {
  denyReason: 'lync_exo_deny_reason',
} as const;

export const DENY_INPUT = { block: 'reason', action: 'reason' } as const;
