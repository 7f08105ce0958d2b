package engine

import (
	"fmt"
	"net/http"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/num"
)

// itemView is the body of GET /v1/items/{id}.
type itemView struct {
	ItemID     string         `json:"item_id"`
	Catalogue  *features.Item `json:"catalogue,omitempty"`
	Popularity float64        `json:"popularity"`
	Trend      float64        `json:"trend"`
	Actions    uint32         `json:"actions"`
	Purchases  uint32         `json:"purchases"`
	Buckets    []features.KV  `json:"context_buckets"`
	Neighbours []features.KV  `json:"neighbours"`
	AsOf       time.Time      `json:"as_of"`
}

// GET /v1/items/{id}
func (e *Engine) item(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	it := e.cat.Get(id)
	st, ok := e.idx.Stats(id)
	if it == nil && !ok {
		writeError(w, http.StatusNotFound, "id", fmt.Sprintf("item %q is neither in the catalogue nor in any event", id))
		return
	}
	now := time.Now()
	v := itemView{ItemID: id, Catalogue: it, AsOf: now.UTC(), Buckets: []features.KV{}, Neighbours: []features.KV{}}
	if ok {
		n := now.UnixMilli()
		v.Popularity = num.Round4(st.Popularity(n, e.extractor))
		v.Trend = num.Round4(st.Trend(n, e.extractor))
		v.Actions, v.Purchases = st.Actions, st.Purchases
		v.Buckets = st.TopBuckets(n, 10, e.extractor)
		v.Neighbours = st.NeighbourWeights(n, 10, e.extractor)
	}
	writeJSON(w, http.StatusOK, v)
}
