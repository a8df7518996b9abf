// pwsh-host: the PowerShell 7 engine (System.Management.Automation) behind the same command line that
// node-powershell gives `pwsh`: `-NoLogo -NoProfile -NonInteractive -NoExit -Command -`.
// With `-Command -` it runs standard input one line at a time in one runspace, as pwsh does for
// single-line statements; with `-Command <text>` it runs the text once and exits.
// Pipeline output goes to stdout (one ToString() per object), errors to stderr, like pwsh.
// Only the engine's core cmdlets exist here: the Utility/Management modules are not published on NuGet
// on their own. The product's scripts use the core language and .NET only, which also keeps them
// valid on Windows PowerShell 5.1.
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;

var utf8 = new UTF8Encoding(false);
var stdout = new StreamWriter(Console.OpenStandardOutput(), utf8) { AutoFlush = true };
var stderr = new StreamWriter(Console.OpenStandardError(), utf8) { AutoFlush = true };
Console.SetOut(stdout);
Console.SetError(stderr);

string? command = null;
for (var i = 0; i < args.Length; i++)
{
    if (args[i].Equals("-Command", StringComparison.OrdinalIgnoreCase) || args[i].Equals("-c", StringComparison.OrdinalIgnoreCase))
    {
        command = i + 1 < args.Length ? args[i + 1] : "-";
    }
}

var iss = InitialSessionState.CreateDefault2();
using var runspace = RunspaceFactory.CreateRunspace(iss);
runspace.Open();
var hadError = false;

void Run(string script)
{
    using var ps = PowerShell.Create();
    ps.Runspace = runspace;
    ps.AddScript(script);
    try
    {
        foreach (var item in ps.Invoke())
        {
            if (item is not null) stdout.WriteLine(item.ToString());
        }
        foreach (var err in ps.Streams.Error)
        {
            hadError = true;
            stderr.WriteLine(err.ToString());
        }
    }
    catch (RuntimeException ex) when (ex.ErrorRecord is not null)
    {
        hadError = true;
        stderr.WriteLine(ex.ErrorRecord.ToString());
    }
    catch (Exception ex)
    {
        hadError = true;
        stderr.WriteLine(ex.Message);
    }
}

if (command is not null && command != "-")
{
    Run(command);
    return hadError ? 1 : 0;
}

var stdin = new StreamReader(Console.OpenStandardInput(), utf8);
string? line;
while ((line = stdin.ReadLine()) is not null)
{
    if (line.Trim().Length > 0) Run(line);
}
return 0;
