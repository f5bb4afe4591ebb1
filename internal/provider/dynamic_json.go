package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// errUnknown marks a value that is not known yet.
var errUnknown = errors.New("value is unknown")

// dynamicToGo converts a dynamic value to what encoding/json makes of the same JSON:
// map[string]any, []any, string, bool, json.Number or nil. known is false when any part
// of it is unknown.
func dynamicToGo(v types.Dynamic) (any, bool, error) {
	if v.IsUnknown() || v.IsUnderlyingValueUnknown() {
		return nil, false, nil
	}
	if v.IsNull() || v.IsUnderlyingValueNull() {
		return nil, true, nil
	}
	g, err := attrToGo(v.UnderlyingValue())
	if errors.Is(err, errUnknown) {
		return nil, false, nil
	}
	return g, true, err
}

func attrToGo(v attr.Value) (any, error) {
	if v == nil || v.IsNull() {
		return nil, nil
	}
	if v.IsUnknown() {
		return nil, errUnknown
	}
	elems := func(vs []attr.Value) ([]any, error) {
		out := make([]any, 0, len(vs))
		for _, e := range vs {
			g, err := attrToGo(e)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	}
	fields := func(m map[string]attr.Value) (map[string]any, error) {
		out := make(map[string]any, len(m))
		for k, e := range m {
			g, err := attrToGo(e)
			if err != nil {
				return nil, err
			}
			out[k] = g
		}
		return out, nil
	}
	switch t := v.(type) {
	case basetypes.DynamicValue:
		return attrToGo(t.UnderlyingValue())
	case basetypes.StringValue:
		return t.ValueString(), nil
	case basetypes.BoolValue:
		return t.ValueBool(), nil
	case basetypes.NumberValue:
		return bigToNumber(t.ValueBigFloat()), nil
	case basetypes.Int64Value:
		return json.Number(fmt.Sprint(t.ValueInt64())), nil
	case basetypes.Int32Value:
		return json.Number(fmt.Sprint(t.ValueInt32())), nil
	case basetypes.Float64Value:
		return bigToNumber(big.NewFloat(t.ValueFloat64())), nil
	case basetypes.Float32Value:
		return bigToNumber(big.NewFloat(float64(t.ValueFloat32()))), nil
	case basetypes.ListValue:
		return elems(t.Elements())
	case basetypes.SetValue:
		return elems(t.Elements())
	case basetypes.TupleValue:
		return elems(t.Elements())
	case basetypes.MapValue:
		return fields(t.Elements())
	case basetypes.ObjectValue:
		return fields(t.Attributes())
	}
	return nil, fmt.Errorf("cannot convert a %T to JSON", v)
}

func bigToNumber(f *big.Float) json.Number {
	if f.IsInt() {
		return json.Number(f.Text('f', 0))
	}
	return json.Number(f.Text('g', -1))
}

// goToDynamic converts decoded JSON to a dynamic value of the type jsondecode() would give
// it: objects for JSON objects, tuples for arrays, numbers, strings, bools, and a null of
// no particular type for null.
func goToDynamic(v any) (types.Dynamic, error) {
	a, err := goToAttr(v)
	if err != nil {
		return types.DynamicNull(), err
	}
	return types.DynamicValue(a), nil
}

func goToAttr(v any) (attr.Value, error) {
	switch t := v.(type) {
	case nil:
		return types.DynamicNull(), nil
	case string:
		return types.StringValue(t), nil
	case bool:
		return types.BoolValue(t), nil
	case json.Number:
		f, _, err := big.ParseFloat(string(t), 10, 512, big.ToNearestEven)
		if err != nil {
			return nil, fmt.Errorf("number %q: %w", t, err)
		}
		return types.NumberValue(f), nil
	case float64:
		return types.NumberValue(big.NewFloat(t)), nil
	case float32:
		return types.NumberValue(big.NewFloat(float64(t))), nil
	case int:
		return types.NumberValue(new(big.Float).SetInt64(int64(t))), nil
	case int32:
		return types.NumberValue(new(big.Float).SetInt64(int64(t))), nil
	case int64:
		return types.NumberValue(new(big.Float).SetInt64(t)), nil
	case []any:
		vals := make([]attr.Value, 0, len(t))
		typs := make([]attr.Type, 0, len(t))
		for i, e := range t {
			a, err := goToAttr(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			vals = append(vals, a)
			typs = append(typs, a.Type(context.Background()))
		}
		tv, diags := types.TupleValue(typs, vals)
		if diags.HasError() {
			return nil, fmt.Errorf("%v", diags)
		}
		return tv, nil
	case map[string]any:
		vals := make(map[string]attr.Value, len(t))
		typs := make(map[string]attr.Type, len(t))
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			a, err := goToAttr(t[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			vals[k] = a
			typs[k] = a.Type(context.Background())
		}
		ov, diags := types.ObjectValue(typs, vals)
		if diags.HasError() {
			return nil, fmt.Errorf("%v", diags)
		}
		return ov, nil
	}
	// Anything else (a typed slice or map) goes through JSON once.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var g any
	if err := decodeJSON(b, &g); err != nil {
		return nil, err
	}
	return goToAttr(g)
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
