/// The audit report's Mustache template. Every `{{value}}` is HTML-escaped by the renderer; the template has no
/// triple mustaches, so nothing from the vault is ever written as markup.
///
/// The Content-Security-Policy forbids every fetch: even a link slipped into a value could load nothing.
enum AuditReportTemplate {
    static let page = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
        <meta name="referrer" content="no-referrer">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Proffer audit report</title>
        <style>
        :root { --ink: #1d2433; --muted: #5b6475; --line: #d9dee7; --paper: #ffffff; --wash: #f5f7fa;
          --held: #b3261e; --held-bg: #fde7e4; --pending: #8a5a00; --pending-bg: #fff1cc;
          --forgotten: #1e6b3a; --forgotten-bg: #e1f3e6; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--wash); color: var(--ink);
          font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 72rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
        header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 1rem; }
        h1 { font-size: 1.6rem; margin: 0; }
        h2 { font-size: 1.15rem; margin: 2.2rem 0 .6rem; }
        .muted { color: var(--muted); }
        .chain { padding: .35rem .8rem; border-radius: 999px; font-weight: 600; }
        .chain.ok { background: var(--forgotten-bg); color: var(--forgotten); }
        .chain.bad { background: var(--held-bg); color: var(--held); }
        .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .8rem; margin-top: 1.2rem; }
        .card { background: var(--paper); border: 1px solid var(--line); border-radius: .6rem; padding: .8rem 1rem; }
        .card b { display: block; font-size: 1.5rem; }
        table { width: 100%; border-collapse: collapse; background: var(--paper); border: 1px solid var(--line);
          border-radius: .6rem; overflow: hidden; }
        th, td { text-align: left; padding: .45rem .7rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: var(--wash); font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
        th[scope=row] { background: var(--paper); font-size: .95rem; text-transform: none; letter-spacing: 0; color: var(--ink); }
        tr:last-child td, tr:last-child th { border-bottom: 0; }
        td.cell { text-align: center; font-weight: 600; font-size: .85rem; }
        .held { background: var(--held-bg); color: var(--held); }
        .pending { background: var(--pending-bg); color: var(--pending); }
        .forgotten { background: var(--forgotten-bg); color: var(--forgotten); }
        .none { color: var(--line); }
        .tag { display: inline-block; padding: 0 .5rem; border-radius: .3rem; font-size: .8rem; font-weight: 600;
          background: var(--wash); border: 1px solid var(--line); }
        .tag.disclosure { background: var(--held-bg); color: var(--held); border-color: transparent; }
        .tag.forget { background: var(--pending-bg); color: var(--pending); border-color: transparent; }
        .tag.forgotten { background: var(--forgotten-bg); color: var(--forgotten); border-color: transparent; }
        .alert { border-left: 4px solid var(--pending); }
        .damaged { margin-top: 1.2rem; padding: .2rem 1rem; border-radius: .6rem; background: var(--held-bg); color: var(--held);
          border: 2px solid var(--held); }
        .damaged h2 { margin-top: .6rem; }
        code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85rem; }
        .legend span { margin-right: 1rem; }
        ul.notes { margin: .2rem 0 0; padding-left: 1.1rem; }
        footer { margin-top: 3rem; font-size: .85rem; }
        @media print {
          body { background: #fff; font-size: 11pt; }
          main { max-width: none; padding: 0; }
          .card, table { border-color: #999; }
          tr, .card { break-inside: avoid; }
          h2 { break-after: avoid; }
          .held, .pending, .forgotten, .tag { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
        }
        </style>
        </head>
        <body>
        <main>
        <header>
          <div>
            <h1>Who holds what about you</h1>
            <div class="muted">Proffer audit report, written {{generated}} UTC from your vault alone.</div>
          </div>
          {{#chain.intact}}<div class="chain {{#hasProblems}}bad{{/hasProblems}}{{^hasProblems}}ok{{/hasProblems}}" id="chain" data-intact="true">Audit chain verified: {{chain.entries}} entries{{#hasProblems}}; the vault is damaged{{/hasProblems}}</div>{{/chain.intact}}
          {{^chain.intact}}<div class="chain bad" id="chain" data-intact="false">Audit chain BROKEN at entry {{chain.entry}}: {{chain.reason}}</div>{{/chain.intact}}
        </header>

        {{#hasProblems}}
        <section class="damaged" id="damaged">
          <h2>This vault failed its integrity check</h2>
          <p>Records were deleted, swapped or altered on disk. What follows may leave things out. Run <code>proffer vault check</code>.</p>
          <ul>{{#problems}}<li>{{.}}</li>{{/problems}}</ul>
        </section>
        {{/hasProblems}}

        <section class="cards">
          <div class="card"><b>{{vendorCount}}</b>vendors</div>
          <div class="card"><b>{{dealCount}}</b>deals{{#hasLost}} ({{lostCount}} record lost){{/hasLost}}</div>
          <div class="card"><b>{{heldCount}}</b>pieces of data held now</div>
        </section>

        {{#hasUnconfirmed}}
        <h2>Forgets never confirmed</h2>
        <table id="unconfirmed" class="alert">
          <thead><tr><th>Deal</th><th>Vendor</th><th>Data</th><th>Asked</th><th>Status</th></tr></thead>
          <tbody>
          {{#unconfirmed}}<tr><td class="mono">{{deal}}</td><td class="vendor">{{vendor}}</td><td>{{categories}}</td><td>{{asked}}</td><td>{{delivered}}</td></tr>
          {{/unconfirmed}}
          </tbody>
        </table>
        <p class="muted">Run <code>proffer deal forget DEAL</code> to ask again.</p>
        {{/hasUnconfirmed}}

        {{#hasLost}}
        <h2>Deals known from the audit log alone</h2>
        <table id="lost" class="alert">
          <thead><tr><th>Deal</th><th>Vendor</th><th>Data</th><th>Sent</th><th>Status</th></tr></thead>
          <tbody>
          {{#lost}}<tr><td class="mono">{{deal}}</td><td class="vendor">{{vendor}}</td><td>{{categories}}</td><td>{{since}}</td><td>{{status}}</td></tr>
          {{/lost}}
          </tbody>
        </table>
        <p class="muted">Their records were lost (a salvaged or damaged vault); the audit log still shows what was sent. Run <code>proffer deal forget DEAL</code> to have the vendor delete it.</p>
        {{/hasLost}}

        <h2>Who holds what now</h2>
        {{#hasGrid}}
        <table id="grid">
          <thead><tr><th>Vendor</th>{{#categories}}<th title="{{meaning}}">{{name}}</th>{{/categories}}</tr></thead>
          <tbody>
          {{#grid}}<tr><th scope="row" class="vendor">{{vendor}}</th>{{#cells}}<td class="cell {{state}}" data-state="{{state}}" title="{{detail}}">{{label}}</td>{{/cells}}</tr>
          {{/grid}}
          </tbody>
        </table>
        <p class="legend muted"><span class="tag disclosure">held</span>disclosed, not forgotten
          <span class="tag forget">pending</span>forget asked, not confirmed
          <span class="tag forgotten">forgotten</span>the vendor confirmed it deleted it</p>
        {{/hasGrid}}
        {{^hasGrid}}<p class="muted" id="grid-empty">No personal data was ever disclosed to a vendor.</p>{{/hasGrid}}

        {{#withValues}}
        <h2>Your values now</h2>
        <table id="values">
          <thead><tr><th>Persona</th><th>Data</th><th>Value</th></tr></thead>
          <tbody>
          {{#values}}<tr><td>{{persona}}</td><td>{{category}}</td><td>{{value}}</td></tr>
          {{/values}}
          </tbody>
        </table>
        {{/withValues}}

        {{#hasTerms}}
        <h2>The terms you proffered</h2>
        <table id="terms">
          <thead><tr><th>Terms</th><th>What they mean</th><th>Deals</th></tr></thead>
          <tbody>
          {{#terms}}<tr><td><span class="mono">{{id}}</span><br><span class="muted mono">{{iri}}</span></td><td>{{meaning}}</td><td>{{deals}}</td></tr>
          {{/terms}}
          </tbody>
        </table>
        {{/hasTerms}}

        {{#hasVendors}}
        <h2>Vendors and how they kept their word</h2>
        <table id="vendors">
          <thead><tr><th>Vendor</th><th>Record</th><th>Your notes</th></tr></thead>
          <tbody>
          {{#vendors}}<tr><td><span class="vendor">{{name}}</span><br><span class="muted">{{profileName}}</span><br><span class="muted mono">{{url}}</span></td><td>{{record}}</td><td>{{#notes}}<div class="note"><span class="muted">{{at}}</span> {{text}}</div>{{/notes}}</td></tr>
          {{/vendors}}
          </tbody>
        </table>
        {{/hasVendors}}

        <h2>Timeline</h2>
        {{#hasTimeline}}
        <table id="timeline">
          <thead><tr><th>#</th><th>When (UTC)</th><th>What</th><th>Persona</th><th>Data</th><th>Detail</th></tr></thead>
          <tbody>
          {{#timeline}}<tr data-kind="{{kind}}"><td>{{number}}</td><td>{{when}}</td><td><span class="tag {{kind}}">{{kind}}</span></td><td>{{persona}}</td><td>{{categories}}</td><td>{{detail}}</td></tr>
          {{/timeline}}
          </tbody>
        </table>
        {{/hasTimeline}}
        {{^hasTimeline}}<p class="muted">Nothing recorded yet.</p>{{/hasTimeline}}

        <footer class="muted">
          {{^withValues}}Values are left out unless the report is written with <code>--with-values</code>. {{/withValues}}Check the chain yourself with
          <code>proffer audit verify</code>; see each deal's signed envelopes with <code>proffer deal show DEAL</code>.
        </footer>
        </main>
        </body>
        </html>

        """
}
