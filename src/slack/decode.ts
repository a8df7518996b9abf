// Text as Slack delivers it, back to what the person typed. Slack escapes &, < and > as &amp;, &lt; and &gt;, and
// (with "escape channels, users and links" on) sends mentions as <@U…|name>, channels as <#C…|name> and links as
// <https://…|label>. Every real < and > in the text is Slack's own markup, so the markup is read first and the
// entities decoded after: `R&amp;D` is `R&D`, `&lt;b&gt;` is `<b>`, and `<https://outlook.office365.com>` is the URL.
export function decodeSlackText(text: string): string {
  return text
    .replace(/<([^<>]*)>/g, (_all, inner: string) => {
      const [target = '', label] = inner.split('|', 2);
      if (target.startsWith('@')) return `<@${target.slice(1)}>`;
      if (target.startsWith('#')) return `<#${target.slice(1)}>`;
      if (target.startsWith('!')) {
        const special = target.slice(1).split('^')[0]!;
        return label ?? `@${special}`;
      }
      return target.startsWith('mailto:') ? target.slice('mailto:'.length) : target;
    })
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
