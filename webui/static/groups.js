// The task groups a viewer opened in the grid and graph of one DAG, kept
// for the browser tab's session (closed at first, as in Airflow).
export function openGroups(dagId) {
  const key = 'gust.groups.' + dagId;
  let ids;
  try { ids = new Set(JSON.parse(sessionStorage.getItem(key) || '[]')); } catch { ids = new Set(); }
  const save = () => sessionStorage.setItem(key, JSON.stringify([...ids]));
  return {
    has: (id) => ids.has(id),
    toggle: (id) => { if (!ids.delete(id)) ids.add(id); save(); },
    setAll: (all) => { ids = new Set(all); save(); },
  };
}
