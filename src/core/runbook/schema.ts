// Runbooks are data (commands/*.yml). This is their schema: what a step may say, and nothing more.
// Step behaviour comes from its `type`; the cmdlets and values come from the file.
import { z } from 'zod';
import { ROLES } from '../types.js';

const cmdletName = z.string().regex(/^[A-Z][A-Za-z]+-[A-Z][A-Za-z]+$/, 'a cmdlet name such as Get-CsHostingProvider');
const paramName = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'a PowerShell parameter name');
const role = z.enum(ROLES as [string, ...string[]]).transform((r) => r as (typeof ROLES)[number]);
const value = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const stepId = z.string().regex(/^[a-z][a-z0-9-]*$/, 'lowercase words joined by dashes');

const readSpec = z.strictObject({ role, cmdlet: cmdletName, parameters: z.record(paramName, value).optional() });

/**
 * `titles`: the step's title in other languages, by locale (`zh-TW: 設定共用 SIP 位址空間`), taken from the procedure's
 * own documentation in that language. Loaded in the policy's language, a runbook's titles are all in it
 * (src/config/runbooks.ts, inLanguage): plans, runs and reports name steps in the channel's language.
 */
const base = { id: stepId, title: z.string().min(1), titles: z.record(z.string(), z.string().min(1)).optional(), role };

/** A singleton settings object (Access Edge configuration): change the listed properties in place. */
const settingsStep = z.strictObject({
  ...base,
  type: z.literal('settings'),
  read: z.string(),
  cmdlet: cmdletName,
  set: z.record(paramName, value),
  /** preconditions on the current object: a plan is refused, with the reason, when one does not hold */
  require: z.array(z.strictObject({ property: paramName, equals: value, reason: z.string() })).default([]),
  /**
   * properties the cmdlet sets with a switch named after the value, and the values they may take: RoutingMethod
   * UseDnsSrvRouting runs `-UseDnsSrvRouting`, and undone, `-UseDefaultRouting`. Compared with the property as read.
   * A value may name the properties that go with its switch (UseDefaultRouting: [DefaultRouteFqdn]), passed from the
   * target (undone: as they were before).
   */
  switches: z
    .record(paramName, z.union([z.array(paramName).min(1), z.record(paramName, z.array(paramName))]))
    .default({})
    .transform((all) => Object.fromEntries(Object.entries(all).map(([p, v]) => [p, Array.isArray(v) ? Object.fromEntries(v.map((x) => [x, [] as string[]])) : v])) as Record<string, Record<string, string[]>>),
});

/** A keyed object (a hosting provider): create, change in place, or remove and create when an immutable property differs. */
const resourceStep = z.strictObject({
  ...base,
  type: z.literal('resource'),
  read: z.string(),
  key: paramName,
  /** properties no other object may share: a plan is refused when another object owns the value */
  unique: z.array(paramName).default([]),
  /** properties that cannot be changed in place */
  immutable: z.array(paramName).default([]),
  cmdlets: z.strictObject({ create: cmdletName, change: cmdletName, remove: cmdletName }),
  set: z.record(paramName, value),
  /** another object owns a `unique` value: refuse the plan, or remove that object first (and restore it on rollback) */
  taken: z.enum(['refuse', 'remove']).default('refuse'),
  /**
   * every property the create cmdlet takes: what the pre-state keeps of an object the step removes or changes and a
   * rollback restores (an AutodiscoverUrl the runbook never sets included). Default: the keys of `set`.
   */
  restore: z.array(paramName).default([]),
});

/** Central Management Store replication: wait until every replica is up to date (or read it once). */
const replicationStep = z.strictObject({ ...base, type: z.literal('replication'), cmdlet: cmdletName, wait: z.boolean().default(true) });

/** Each Edge's local store compared, property by property, with what a resource step set. */
const edgeCheckStep = z.strictObject({
  ...base,
  type: z.literal('edge-check'),
  cmdlet: cmdletName,
  parameters: z.record(paramName, value).default({}),
  expect: stepId,
});

/** A plain read, shown in a report. */
const readStep = z.strictObject({ ...base, type: z.literal('read'), cmdlet: cmdletName, parameters: z.record(paramName, value).default({}) });

export const StepSchema = z.discriminatedUnion('type', [settingsStep, resourceStep, replicationStep, edgeCheckStep, readStep]);
export type Step = z.infer<typeof StepSchema>;
export type SettingsStep = z.infer<typeof settingsStep>;
export type ResourceStep = z.infer<typeof resourceStep>;
export type ChangeStep = SettingsStep | ResourceStep;

const inputSpec = z.strictObject({
  description: z.string(),
  choices: z.array(z.string()).optional(),
  default: z.string(),
  /** what usage shows for a free value: `--identity NAME` (choices are shown as they are) */
  placeholder: z.string().regex(/^[A-Z][A-Z_]*$/).optional(),
});

export const RunbookSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z-]*$/),
    summary: z.string(),
    /** true: the runbook changes configuration, so it needs approval */
    changes: z.boolean(),
    inputs: z.record(z.string().regex(/^[a-z][A-Za-z]*$/), inputSpec).default({}),
    derived: z.record(z.string(), z.strictObject({ from: z.string(), map: z.record(z.string(), z.string()) })).default({}),
    read: z.record(z.string(), readSpec).default({}),
    /**
     * What the runbook's subcommand does: `change` (plan, approve, run: the default with changes: true), `report`
     * (run its read steps: the default with changes: false), `compare` (verify a change runbook item by item, with
     * that runbook's checks read once), `undo` (roll back a run of any change runbook from its pre-state).
     */
    kind: z.enum(['change', 'report', 'compare', 'undo']).optional(),
    /** the change runbook `plan` and `verify` take when none is named (one runbook says so) */
    default: z.boolean().default(false),
    /** what the admin must do besides, shown in the plan and the run's report (the tenant-side step); may hold {input} */
    note: z.string().optional(),
    warnings: z
      .array(
        z.strictObject({
          when: z.literal('removes-provider-used-by'),
          read: z.string(),
          property: paramName,
          /** the removed object's property that `property` is compared with */
          equals: paramName.default('ProxyFqdn'),
          message: z.string(),
        }),
      )
      .default([]),
    steps: z.array(StepSchema).default([]),
  })
  .transform((rb) => ({ ...rb, kind: rb.kind ?? (rb.changes ? 'change' : 'report') }))
  .superRefine((rb, ctx) => {
    if ((rb.kind === 'change' || rb.kind === 'report') && rb.steps.length === 0) ctx.addIssue({ code: 'custom', path: ['steps'], message: `a ${rb.kind} runbook needs at least one step` });
    if (rb.kind === 'undo' && !rb.changes) ctx.addIssue({ code: 'custom', path: ['changes'], message: 'an undo runbook changes the deployment: changes: true' });
    if (rb.kind !== 'change' && rb.steps.some((s) => s.type === 'settings' || s.type === 'resource')) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: `a ${rb.kind} runbook has no change steps: they come from the runbook it ${rb.kind === 'undo' ? 'undoes' : 'verifies'}` });
    }
    const ids = new Set<string>();
    rb.steps.forEach((step, i) => {
      if (ids.has(step.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${step.id}"` });
      ids.add(step.id);
      if ((step.type === 'settings' || step.type === 'resource') && !(step.read in rb.read)) {
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'read'], message: `"${step.read}" is not one of read: ${Object.keys(rb.read).join(', ') || '(none)'}` });
      }
      if (step.type !== 'read' && step.type !== 'edge-check' && step.type !== 'replication' && !rb.changes) {
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'type'], message: 'a runbook with changes: false cannot have change steps' });
      }
    });
    for (const [name, d] of Object.entries(rb.derived)) {
      const input = rb.inputs[d.from];
      if (!input) ctx.addIssue({ code: 'custom', path: ['derived', name, 'from'], message: `"${d.from}" is not an input` });
      for (const choice of input?.choices ?? []) {
        if (!(choice in d.map)) ctx.addIssue({ code: 'custom', path: ['derived', name, 'map'], message: `no value for ${d.from} "${choice}"` });
      }
    }
    rb.warnings.forEach((w, i) => {
      if (!(w.read in rb.read)) ctx.addIssue({ code: 'custom', path: ['warnings', i, 'read'], message: `"${w.read}" is not one of read` });
    });
  });
export type RunbookKind = 'change' | 'report' | 'compare' | 'undo';
export type Runbook = z.infer<typeof RunbookSchema>;
export type ReadSpec = z.infer<typeof readSpec>;
