/**
 * A test harness (tests/anywhere/test_vscode_renderer.py), not part of the app: the widget manager
 * VS Code's Jupyter extension runs in its notebook webview (@vscode/jupyter-ipywidgets8, the bundle
 * the extension ships, with requirejs as there), connected to a real kernel of a real Jupyter
 * server through @jupyterlab/services. It runs `?code=` as a cell and renders the widget the cell
 * displays the way the extension's renderer does: the model by id, a view of it, attached to the
 * output element. Third-party widget code is loaded as the extension loads it from the kernel's
 * environment: the module's nbextension script, registered in requirejs.
 */
import { KernelManager, ServerConnection } from '@jupyterlab/services';
import requirejsSource from 'requirejs/require.js?raw';

type Log = { kind: string; text: string };
const log: Log[] = [];
(window as unknown as { harnessLog: Log[] }).harnessLog = log;
const say = (kind: string, text: string) => log.push({ kind, text });

// requirejs as a classic script, before the renderer bundle defines its modules in it
const rjs = document.createElement('script');
rjs.textContent = requirejsSource;
document.head.append(rjs);

const params = new URLSearchParams(location.search);
const serverSettings = ServerConnection.makeSettings({ baseUrl: `${location.origin}/`, token: params.get('token') ?? '' });

async function main() {
  const { activate } = await import('@vscode/jupyter-ipywidgets8');
  activate();
  const w = window as unknown as { vscIPyWidgets8: { load: () => void }; vscIPyWidgets: { WidgetManager: new (...a: unknown[]) => Manager }; requirejs: { config: (c: unknown) => void } };
  w.vscIPyWidgets8.load();
  const kernel = await new KernelManager({ serverSettings }).startNew({ name: 'python3' });
  const host = document.getElementById('output')!;
  const registered = new Set<string>();
  const scriptLoader = {
    widgetsRegisteredInRequireJs: registered,
    // as the extension does for a widget module found in the kernel's share/jupyter/nbextensions
    async loadWidgetScript(moduleName: string) {
      w.requirejs.config({ paths: { [moduleName]: `${location.origin}/static/nbextensions/${moduleName}/index` } });
      registered.add(moduleName);
    },
    successHandler: (c: string, m: string, v: string) => say('loaded', `${m}@${v}:${c}`),
    errorHandler: (c: string, m: string, v: string, e: unknown) => say('error', `${m}@${v}:${c}: ${String(e)}`),
  };
  const manager = new w.vscIPyWidgets.WidgetManager(kernel, host, scriptLoader, (m: string) => say('manager', m));
  const future = kernel.requestExecute({ code: params.get('code') ?? '' });
  future.onIOPub = (msg) => {
    const content = msg.content as { data?: Record<string, { model_id?: string }>; ename?: string; evalue?: string };
    if (content.ename) say('error', `${content.ename}: ${content.evalue}`);
    const view = content.data?.['application/vnd.jupyter.widget-view+json'];
    if (!view?.model_id) return;
    void (async () => {
      const model = await manager.get_model(view.model_id!);
      const v = await manager.create_view(model);
      await manager.display_view(undefined, v, { node: host });
      say('displayed', view.model_id!);
    })().catch((e: unknown) => say('error', String(e)));
  };
  await future.done;
  say('done', 'cell ran');
}

interface Manager {
  get_model(id: string): Promise<unknown>;
  create_view(model: unknown): Promise<unknown>;
  display_view(msg: unknown, view: unknown, options: { node: HTMLElement }): Promise<unknown>;
}

main().catch((e: unknown) => say('error', String(e)));
