import { describe, expect, it } from 'vitest';
import { decodeSlackText } from '../../src/slack/decode.js';

describe('text from Slack, decoded before parsing', () => {
  it.each([
    ['setup --identity "R&amp;D"', 'setup --identity "R&D"'],
    ['setup --identity "&lt;lab&gt; &amp;amp;"', 'setup --identity "<lab> &amp;"'],
    ['history <@U0BOB|bob>', 'history <@U0BOB>'],
    ['history <@U0BOB>', 'history <@U0BOB>'],
    ['in <#C0LYNCOPS|lync-ops>', 'in <#C0LYNCOPS>'],
    ['setup --mailbox <https://outlook.office365.com>', 'setup --mailbox https://outlook.office365.com'],
    ['setup --mailbox <https://outlook.office365.com|outlook.office365.com>', 'setup --mailbox https://outlook.office365.com'],
    ['setup --contact <mailto:ops@contoso.com|ops@contoso.com>', 'setup --contact ops@contoso.com'],
    ['<!here> status', '@here status'],
    ['plain text, nothing to do', 'plain text, nothing to do'],
  ])('%s → %s', (raw, typed) => {
    expect(decodeSlackText(raw)).toBe(typed);
  });
});
