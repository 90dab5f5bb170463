package template

import (
	"fmt"
	"reflect"
)

// Math helpers. Like consul-template's they take the operands in pipe
// order: `{{ subtract 2 5 }}` and `{{ 5 | subtract 2 }}` are both 5 - 2.
// Integers give int64 (uint64 when both are unsigned) and any float makes
// the result float64.

func add(b, a any) (any, error) {
	return arith("add", a, b, func(x, y int64) int64 { return x + y },
		func(x, y uint64) uint64 { return x + y }, func(x, y float64) float64 { return x + y })
}

func subtract(b, a any) (any, error) {
	return arith("subtract", a, b, func(x, y int64) int64 { return x - y },
		func(x, y uint64) uint64 { return x - y }, func(x, y float64) float64 { return x - y })
}

func multiply(b, a any) (any, error) {
	return arith("multiply", a, b, func(x, y int64) int64 { return x * y },
		func(x, y uint64) uint64 { return x * y }, func(x, y float64) float64 { return x * y })
}

// divide divides integers as Go does (truncating); divide by an integer
// zero fails the render.
func divide(b, a any) (any, error) {
	return arith("divide", a, b, func(x, y int64) int64 { return x / y },
		func(x, y uint64) uint64 { return x / y }, func(x, y float64) float64 { return x / y })
}

// modulo takes integers only.
func modulo(b, a any) (any, error) {
	return arith("modulo", a, b, func(x, y int64) int64 { return x % y },
		func(x, y uint64) uint64 { return x % y }, nil)
}

// minimum and maximum return the chosen operand itself (as int64,
// uint64 or float64), so `minimum 1 2.5` is 1, not 1.0.
func minimum(b, a any) (any, error) { return pick("minimum", a, b, -1) }
func maximum(b, a any) (any, error) { return pick("maximum", a, b, 1) }

// number is an operand sorted into the three kinds the helpers handle.
type number struct {
	kind byte // 'i' signed, 'u' unsigned, 'f' float
	i    int64
	u    uint64
	f    float64
}

func toNumber(name string, v any) (number, error) {
	rv := reflect.ValueOf(v)
	switch k := rv.Kind(); {
	case isSigned(k):
		return number{kind: 'i', i: rv.Int()}, nil
	case isUnsigned(k):
		return number{kind: 'u', u: rv.Uint()}, nil
	case isFloat(k):
		return number{kind: 'f', f: rv.Float()}, nil
	}
	return number{}, fmt.Errorf("%s: unknown type for %q (%T)", name, fmt.Sprint(v), v)
}

func (n number) asInt() int64 {
	if n.kind == 'u' {
		return int64(n.u)
	}
	return n.i
}

func (n number) asFloat() float64 {
	switch n.kind {
	case 'u':
		return float64(n.u)
	case 'i':
		return float64(n.i)
	}
	return n.f
}

func (n number) value() any {
	switch n.kind {
	case 'u':
		return n.u
	case 'i':
		return n.i
	}
	return n.f
}

func operands(name string, a, b any) (number, number, error) {
	x, err := toNumber(name, a)
	if err != nil {
		return x, x, err
	}
	y, err := toNumber(name, b)
	return x, y, err
}

func arith(name string, a, b any, ints func(int64, int64) int64, uints func(uint64, uint64) uint64,
	floats func(float64, float64) float64) (any, error) {
	x, y, err := operands(name, a, b)
	if err != nil {
		return nil, err
	}
	switch {
	case x.kind == 'f' || y.kind == 'f':
		if floats == nil {
			return nil, fmt.Errorf("%s: float operands are not supported (%v, %v)", name, x.value(), y.value())
		}
		return floats(x.asFloat(), y.asFloat()), nil
	case x.kind == 'u' && y.kind == 'u':
		return uints(x.u, y.u), nil
	}
	return ints(x.asInt(), y.asInt()), nil
}

// pick returns a when it compares to b as want (-1 less, 1 greater),
// else b.
func pick(name string, a, b any, want int) (any, error) {
	x, y, err := operands(name, a, b)
	if err != nil {
		return nil, err
	}
	var cmp int
	switch {
	case x.kind == 'f' || y.kind == 'f':
		cmp = compare(x.asFloat(), y.asFloat())
	case x.kind == 'u' && y.kind == 'u':
		cmp = compare(x.u, y.u)
	default:
		cmp = compare(x.asInt(), y.asInt())
	}
	if cmp == want {
		return x.value(), nil
	}
	return y.value(), nil
}

func compare[T int64 | uint64 | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
