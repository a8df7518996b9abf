// How an invocation reads to an approver: the PowerShell line an admin could paste and get the same effect.
// Display only: the agent never runs this text; it splats the same values as data.
import type { Invocation, ParamValue } from '../types.js';

/** Parameters that are switches: shown as `-LocalStore`, not `-LocalStore $True`. */
const SWITCHES = new Set(['LocalStore', 'Force', 'UseDnsSrvRouting', 'UseDefaultRouting', 'CentralManagementStoreStatus', 'WhatIf']);

/** A single-quoted PowerShell literal: nothing inside it expands. */
export function quotePs(text: string): string {
  return `'${text.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

function renderValue(value: ParamValue): string {
  if (value === null) return '$null';
  if (typeof value === 'boolean') return value ? '$True' : '$False';
  if (typeof value === 'number') return String(value);
  return /^[A-Za-z0-9.]+$/.test(value) ? value : quotePs(value);
}

export function renderInvocation(inv: Invocation): string {
  const parts = [inv.cmdlet];
  for (const [name, value] of Object.entries(inv.parameters)) {
    if (SWITCHES.has(name) && value === true) parts.push(`-${name}`);
    else if (name === 'Confirm' && value === false) parts.push('-Confirm:$false');
    else parts.push(`-${name} ${renderValue(value)}`);
  }
  return parts.join(' ');
}

/** Any value read from PowerShell, as text (objects as JSON rather than "[object Object]"). */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  if (value === null || typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
  return typeof value === 'symbol' ? value.toString() : 'function';
}

export function renderValueForPeople(value: unknown): string {
  if (value === undefined) return '(none)';
  if (value === null || value === '') return '(not set)';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return text(value);
}
