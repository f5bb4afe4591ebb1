package provider

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestDynamicJSON_RoundTrip(t *testing.T) {
	const doc = `{"bucket":"b","count":3,"ratio":0.25,"big":12345678901234567890,"on":true,"none":null,
		"tags":["a",1,{"k":"v"}],"nested":{"empty":{},"list":[]}}`
	var g any
	if err := decodeJSON([]byte(doc), &g); err != nil {
		t.Fatal(err)
	}
	d, err := goToDynamic(g)
	if err != nil {
		t.Fatal(err)
	}
	back, known, err := dynamicToGo(d)
	if err != nil || !known {
		t.Fatalf("dynamicToGo: %v, known %v", err, known)
	}
	b1, _ := json.Marshal(g)
	b2, _ := json.Marshal(back)
	if string(b1) != string(b2) {
		t.Errorf("round trip changed the value:\n%s\n%s", b1, b2)
	}
	obj, ok := d.UnderlyingValue().(types.Object)
	if !ok {
		t.Fatalf("a JSON object becomes an object, got %T", d.UnderlyingValue())
	}
	if n, ok := obj.Attributes()["big"].(types.Number); !ok || n.ValueBigFloat().Cmp(mustBig("12345678901234567890")) != 0 {
		t.Errorf("big number lost precision: %v", obj.Attributes()["big"])
	}
	if _, ok := obj.Attributes()["tags"].(types.Tuple); !ok {
		t.Errorf("a JSON array becomes a tuple, got %T", obj.Attributes()["tags"])
	}
}

func mustBig(s string) *big.Float {
	f, _, err := big.ParseFloat(s, 10, 512, big.ToNearestEven)
	if err != nil {
		panic(err)
	}
	return f
}
