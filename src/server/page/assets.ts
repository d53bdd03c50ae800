import { createHash } from 'node:crypto';

/** The page's only stylesheet, inline: one request renders the page. Light and dark by prefers-color-scheme. */
export const STYLE = `
:root{--on:#fff;--bg:#fff;--fg:#1b1f24;--muted:#59636e;--line:#d8dee4;--card:#f6f8fa;--ok:#1a7f37;--d1:#9a6700;--d2:#bc4c00;--d3:#cf222e;--dn:#c8d1da;--p50:#0969da;--p95:#8250df;--inc:rgba(207,34,46,.15)}
@media (prefers-color-scheme:dark){:root{--on:#0d1117;--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--card:#161b22;--ok:#3fb950;--d1:#d29922;--d2:#db6d28;--d3:#f85149;--dn:#30363d;--p50:#58a6ff;--p95:#bc8cff;--inc:rgba(248,81,73,.2)}}
*{box-sizing:border-box}body{margin:0 auto;max-width:960px;padding:0 16px 32px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--p50)}header{padding:20px 0 8px}.brand{display:flex;gap:10px;align-items:center;font-size:1.5rem;font-weight:600;color:var(--fg);text-decoration:none}
h2{font-size:1.15rem;margin:28px 0 10px}h3{font-size:1rem;margin:0;display:inline}small{color:var(--muted);font-weight:400}
.banner{padding:14px 16px;border-radius:8px;font-weight:600;color:var(--on);background:var(--ok)}.b-degraded{background:var(--d1)}.b-outage{background:var(--d3)}.b-unknown{background:var(--muted)}.b-maintenance{background:var(--p50)}
.ic{display:inline-block;width:1.2em;text-align:center;font-weight:700}
.active{border:2px solid var(--d3);border-radius:8px;padding:4px 16px;margin-top:16px}.active h2{color:var(--d3);margin-top:8px}
.comp{border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:10px 0;background:var(--card)}
.head{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline}.head .meta{flex-basis:100%}
.st{font-weight:600;white-space:nowrap}.st-healthy{color:var(--ok)}.st-degraded{color:var(--d1)}.st-partial{color:var(--d2)}.st-unhealthy{color:var(--d3)}.st-unknown{color:var(--muted)}
.crit,.flap,.mnt,.loc{font-size:.75rem;border:1px solid var(--line);border-radius:10px;padding:0 6px}.flap{border-color:var(--d1);color:var(--d1)}.mnt{border-color:var(--p50);color:var(--p50)}.loc{border-color:var(--d2);color:var(--d2)}
.maint{border:2px solid var(--p50);border-radius:8px;padding:4px 16px;margin-top:16px}.maint h2{color:var(--p50);margin-top:8px}
.meta{color:var(--muted);font-size:.85rem;margin:2px 0}.err{color:var(--d3);overflow-wrap:anywhere}
.bars{display:flex;gap:2px;list-style:none;margin:8px 0 2px;padding:0;height:34px}
.bars li{flex:1;min-width:2px;border-radius:2px;background:var(--ok);cursor:default;position:relative}
.bars li.d1{background:var(--d1);height:85%;align-self:flex-end}.bars li.d2{background:var(--d2);height:70%;align-self:flex-end}.bars li.d3{background:var(--d3);height:55%;align-self:flex-end}.bars li.dn{background:var(--dn);height:40%;align-self:flex-end}
.bars li:focus{outline:2px solid var(--fg);outline-offset:1px}
html:not(.js) .bars li:hover::after,html:not(.js) .bars li:focus::after{content:attr(aria-label);position:absolute;top:40px;right:0;z-index:2;width:max-content;max-width:280px;padding:6px 8px;border-radius:6px;background:var(--fg);color:var(--bg);font-size:.8rem}
.legend{display:flex;justify-content:space-between}
#tip{position:absolute;z-index:3;max-width:320px;padding:6px 9px;border-radius:6px;background:var(--fg);color:var(--bg);font-size:.8rem;pointer-events:none}
.lat{margin:6px 0 0}.lat svg{width:100%;height:64px;display:block}.lat polyline{fill:none;stroke-width:1.5;stroke-linecap:round;vector-effect:non-scaling-stroke}
.p50{stroke:var(--p50)}.p95{stroke:var(--p95);stroke-dasharray:4 2}.inc{fill:var(--inc)}
figcaption{color:var(--muted);font-size:.8rem}.k50::before,.k95::before{content:"";display:inline-block;width:14px;margin-right:4px;vertical-align:middle;border-top:2px solid var(--p50)}.k95::before{border-top:2px dashed var(--p95)}
.slos{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px}.slo{border:1px solid var(--line);border-radius:8px;padding:12px 16px;background:var(--card)}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:8px 0;font-size:.9rem}dt{color:var(--muted)}dd{margin:0}
.budget{height:10px;border-radius:5px;background:var(--dn);overflow:hidden}.budget span{display:block;height:100%;background:var(--ok)}.budget.low span{background:var(--d3)}
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}thead th{color:var(--muted);font-weight:600}
.inc-table tr:has(+tr.noted) td{border-bottom:0}.noted td{padding-top:0}.notes{margin:4px 0 2px}.pm{margin:2px 0}.updates{list-style:none;margin:2px 0;padding:0}.updates li{margin:4px 0;padding-left:10px;border-left:2px solid var(--line)}.updates time{color:var(--muted);font-size:.8rem;margin-right:6px}.msg{white-space:pre-line;overflow-wrap:anywhere}
.scroll{overflow-x:auto}.note{border-left:3px solid var(--d1);padding:2px 12px;margin:10px 0;background:var(--card)}
.sub form{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:6px 0}.sub input{flex:1;min-width:12em;padding:6px 8px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg);font:inherit}.sub button{padding:6px 14px;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--fg);font:inherit;cursor:pointer}
footer{margin-top:32px;color:var(--muted);font-size:.8rem}
@media (max-width:600px){body{font-size:14px}.bars{gap:1px}.inc-table td:nth-child(5),.inc-table th:nth-child(5){display:none}}
`.trim();

/**
 * The page's only script: a tooltip for the day bars on hover and keyboard focus, arrow keys
 * between the days of a component (one tab stop each), and a refresh
 * every `data-refresh` ms that swaps only the blocks (`data-k`) whose HTML changed, so scrolling
 * survives, and focus moves to the same place in the new block (a keyboard user on a day bar keeps
 * it). Without it the page is complete, just static.
 */
export const SCRIPT = `(()=>{
const d=document;d.documentElement.classList.add('js');
const tip=d.getElementById('tip');
const bar=e=>e.target instanceof Element?e.target.closest('.bars li'):null;
const show=b=>{tip.textContent=b.getAttribute('aria-label');tip.hidden=false;const r=b.getBoundingClientRect();const w=tip.offsetWidth;tip.style.left=Math.max(4,Math.min(innerWidth-w-4,r.left+r.width/2-w/2))+scrollX+'px';tip.style.top=r.bottom+scrollY+6+'px'};
const hide=()=>{tip.hidden=true};
d.addEventListener('mouseover',e=>{const b=bar(e);b?show(b):hide()});
d.addEventListener('focusin',e=>{const b=bar(e);b?show(b):hide()});
d.addEventListener('focusout',hide);
const keys0={ArrowLeft:-1,ArrowRight:1,Home:-1e3,End:1e3};
d.addEventListener('keydown',e=>{if(e.key==='Escape')return hide();const b=bar(e),step=keys0[e.key];if(!b||!step)return;
const all=[...b.parentElement.children],to=all[Math.max(0,Math.min(all.length-1,all.indexOf(b)+step))];
e.preventDefault();for(const li of all)li.removeAttribute('tabindex');to.tabIndex=0;to.focus()});
const path=(root,el)=>{const p=[];for(let e=el;e!==root;e=e.parentElement)p.unshift([...e.parentElement.children].indexOf(e));return p};
const refocus=(root,p)=>{const t=p.reduce((e,i)=>e&&e.children[i],root);if(!t)return hide();
if(t.matches('.bars li')){for(const li of t.parentElement.children)li.removeAttribute('tabindex');t.tabIndex=0}t.focus({preventScroll:true})};
const every=Number(d.body.dataset.refresh);
const keys=doc=>[...doc.querySelectorAll('[data-k]')].map(n=>n.dataset.k).join();
async function refresh(){
if(d.hidden)return setTimeout(refresh,every);
try{const res=await fetch(location.href,{headers:{accept:'text/html'},cache:'no-store'});
if(res.ok){const doc=new DOMParser().parseFromString(await res.text(),'text/html');
if(keys(doc)!==keys(d)){d.querySelector('main').replaceWith(d.importNode(doc.querySelector('main'),true))}
for(const n of doc.querySelectorAll('[data-k]')){const o=d.querySelector('[data-k="'+CSS.escape(n.dataset.k)+'"]');if(o&&o.outerHTML!==n.outerHTML){const at=o.contains(d.activeElement)?path(o,d.activeElement):null;const fresh=d.importNode(n,true);o.replaceWith(fresh);if(at)refocus(fresh,at)}}
d.dispatchEvent(new Event('nines:refreshed'))}}catch{}
setTimeout(refresh,every)}
if(every>0)setTimeout(refresh,every);
})();`;

/** CSP source of {@link SCRIPT}: the one inline script allowed to run. */
export const SCRIPT_HASH = `'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`;

/** Headers of every HTML page: no script but ours, no framing, no caching of live status. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': `default-src 'none'; script-src ${SCRIPT_HASH}; style-src 'unsafe-inline'; img-src 'self' https: http: data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
